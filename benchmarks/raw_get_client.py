"""Raw keep-alive `requests` GETs from a process of their own: the HTTP floor of the read benchmark.

The provider's GETs leave its own process for the emulator, so the floor's GETs do the same.
Started by `provider_costs.py` with the token in `BENCH_TOKEN` and the marker header's name as
the only argument; reads `<count> <url>` lines on stdin and answers each with one line, a JSON
list of the seconds each GET took. `<count> <url> close` asks for `Connection: close` on each GET,
so that each one takes a new connection. An empty line or the end of stdin stops it.
"""

from __future__ import annotations

import json
import os
import sys
import time

import requests


def main() -> int:
    marker = sys.argv[1]
    with requests.Session() as session:
        session.headers.update({"X-Auth-Token": os.environ["BENCH_TOKEN"], marker: "1"})
        for line in sys.stdin:
            if not line.strip():
                break
            count, url, *mode = line.split()
            headers = {"Connection": "close"} if mode == ["close"] else {}
            seconds: list[float] = []
            for _ in range(int(count)):
                started = time.perf_counter()
                response = session.get(url, params={"tracker_name": "system"}, headers=headers, timeout=30)
                seconds.append(time.perf_counter() - started)
                response.raise_for_status()
            print(json.dumps(seconds), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
