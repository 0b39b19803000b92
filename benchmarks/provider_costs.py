"""What `TrackerProvider` costs the Pulumi engine, measured against the CTS emulator: one table.

    python3 scripts/dev.py bench                    # the full run (about a minute on 2 cores)
    python3 scripts/dev.py bench --quick            # a smoke run with small counts (about 10 s)
    python -m benchmarks.provider_costs [--quick]   # the same, from the repository root

The provider is driven the way the engine drives it: `python -m pulumi.dynamic` in a subprocess,
Configure/Check/Diff/Create/Read/Update/Delete over gRPC (`tests/support/engine.py`). The
emulator (`pulumi_cts.emulator.Emulator`, unchanged) runs in this process; a small WSGI middleware
in front of its app records, for every IAM and CTS request, the client's (address, port), the app's
own answer time and whether the socket has TCP_NODELAY.

Every time is compared with a baseline taken in the same run (a do-nothing dynamic provider,
raw keep-alive `requests` GETs, sequential calls, ...), so the ratios mean something on a shared,
noisy machine where single timings do not. Goals that are missed are printed, and the exit code
stays 0; only an error exits non-zero.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar
from unittest import mock

import requests
from pulumi.dynamic.dynamic import serialize_provider

import pulumi_cts
from benchmarks.do_nothing_provider import DoNothingProvider
from pulumi_cts import TrackerProvider
from pulumi_cts.emulator import Emulator
from pulumi_cts.emulator.server import SOCKET_KEY, EmulatorApp
from pulumi_cts.emulator.urls import service_of
from tests.support import DOMAIN, REGION, REPO_ROOT, child_environment
from tests.support.engine import PROVIDER_KEY, CreateResponse, EngineHarness

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

P = ParamSpec("P")
T = TypeVar("T")

USER = "bench-pipeline"
PASSWORD = "bench-Pa55-w0rd"
BUCKET = "bench-audit-trail"
FLOOR_HEADER = "X-Bench-Floor"

# The row names (printed in ROW_ORDER; tests/benchmarks/test_benchmark_smoke.py checks each one).
ROW_IAM_PROJECTS = "IAM token requests: lifecycle of N trackers in N projects"
ROW_IAM_ONE = "IAM token requests: R lifecycles in one project"
ROW_HTTP_CHECK = "HTTP requests per check"
ROW_HTTP_DIFF = "HTTP requests per diff"
ROW_HTTP_CREATE = "HTTP requests per create (status enabled)"
ROW_HTTP_CREATE_DISABLED = "HTTP requests per create (status disabled)"
ROW_HTTP_READ = "HTTP requests per read"
ROW_HTTP_UPDATE = "HTTP requests per update"
ROW_HTTP_DELETE = "HTTP requests per delete"
ROW_TCP = "TCP connections per provider process (sequential calls)"
ROW_TCP_CONCURRENT = "TCP connections per provider process (4 concurrent callers)"
ROW_BLOB_SIZE = "serialized provider in state (bytes)"
ROW_BLOB_STABLE = "serialized provider: distinct blobs over fresh processes"
ROW_COLD_START = "cold start to first answered Create (s, median)"
ROW_READS = "reads via gRPC against the emulator (s)"
ROW_CREATES = "creates, 4 concurrent callers vs sequential (s)"
ROW_CREATES_LATENCY = "creates, 4 concurrent callers vs sequential, +20 ms service latency (s)"
ROW_EMULATOR_TIME = "emulator answer time per GET, server side (ms, mean)"
ROW_EMULATOR_STALL = "emulator: slowest raw keep-alive GET (ms)"
ROW_EMULATOR_NODELAY = "emulator as shipped: connections served with TCP_NODELAY"
ROW_EMULATOR_SQLITE = "emulator: SQLite opens while serving"
ROW_EMULATOR_STOCK_CONNECTIONS = "emulator as shipped: TCP connections for keep-alive GETs"
ROW_EMULATOR_STOCK_TIME = "emulator as shipped: raw GET round trip (ms, mean)"
ROW_PIPELINES_ONE_IAM = "parallel pipelines, M processes, one project: IAM token requests"
ROW_PIPELINES_ONE_WALL = "parallel pipelines, M processes, one project: wall time (s)"
ROW_PIPELINES_OWN_IAM = "parallel pipelines, M processes, own projects: IAM token requests"
ROW_PIPELINES_OWN_WALL = "parallel pipelines, M processes, own projects: wall time (s)"

HEADER = ("measure", "value", "baseline (same run)", "ratio", "goal", "met?")


@dataclass(frozen=True)
class Sizes:
    projects: int  # N: trackers in N projects, one provider process
    rounds: int  # R: lifecycles in one project
    reads: int
    read_blocks: int
    creates: int
    create_rounds: int
    callers: int
    pipelines: int  # M: provider processes started at once
    pipeline_rounds: int
    cold_starts: int
    fresh_blobs: int
    latency_ms: int


FULL = Sizes(
    projects=10,
    rounds=5,
    reads=200,
    read_blocks=4,
    creates=50,
    create_rounds=2,
    callers=4,
    pipelines=16,
    pipeline_rounds=2,
    cold_starts=5,
    fresh_blobs=3,
    latency_ms=20,
)
QUICK = Sizes(
    projects=2,
    rounds=2,
    reads=20,
    read_blocks=2,
    creates=8,
    create_rounds=1,
    callers=4,
    pipelines=3,
    pipeline_rounds=1,
    cold_starts=1,
    fresh_blobs=2,
    latency_ms=20,
)


# -- the emulator, seen from the server side ----------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One IAM or CTS request as the emulator served it."""

    service: str
    method: str
    peer: tuple[str, int]
    seconds: float
    nodelay: bool
    floor: bool


FLOOR_ENVIRON_KEY = "HTTP_" + FLOOR_HEADER.upper().replace("-", "_")


class RequestRecorder:
    """WSGI middleware: records each IAM/CTS request (not the control API), then runs the emulator."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._hits: list[Hit] = []

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        body = self.app(environ, start_response)
        seconds = time.perf_counter() - started
        service = service_of(str(environ.get("PATH_INFO", "")))
        if service != "control":
            sock = environ.get(SOCKET_KEY)
            nodelay = isinstance(sock, socket.socket) and bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            hit = Hit(
                service=service,
                method=str(environ.get("REQUEST_METHOD", "")),
                peer=(str(environ.get("REMOTE_ADDR", "")), int(environ.get("REMOTE_PORT") or 0)),
                seconds=seconds,
                nodelay=nodelay,
                floor=FLOOR_ENVIRON_KEY in environ,
            )
            with self._lock:
                self._hits.append(hit)
        return body

    def mark(self) -> int:
        with self._lock:
            return len(self._hits)

    def since(self, mark: int) -> list[Hit]:
        with self._lock:
            return self._hits[mark:]


class RecordingEmulator(Emulator):
    """The emulator with a `RequestRecorder` in front of its app."""

    recorder: RequestRecorder

    def wsgi_app(self, app: EmulatorApp) -> WSGIApplication:
        self.recorder = RequestRecorder(app)
        return self.recorder


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time a process has used so far (Linux /proc; 0.0 where unavailable)."""
    if pid is None:
        return 0.0
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def iam_requests(hits: Iterable[Hit]) -> int:
    return sum(1 for h in hits if h.service == "iam")


def connections(hits: Iterable[Hit]) -> int:
    return len({h.peer for h in hits if not h.floor})


# -- the table ---------------------------------------------------------------------------------


@dataclass
class Row:
    measure: str
    value: str
    baseline: str = "-"
    ratio: str = "-"
    goal: str = "-"
    met: bool | None = None
    why: str = ""
    # Print `why` under the table even when the goal is met (the breakdown of a timing row).
    explain: bool = False


def ratio_text(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}x" if baseline else "-"


def print_table(rows: Sequence[Row]) -> None:
    cells = [HEADER, *[(r.measure, r.value, r.baseline, r.ratio, r.goal, met_text(r.met)) for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADER))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |"

    print(line(HEADER))
    print("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    for row in cells[1:]:
        print(line(row))
    for title, chosen in (
        ("Notes:", [r for r in rows if r.explain and r.met is not False]),
        ("Goals not met:", [r for r in rows if r.met is False]),
    ):
        if chosen:
            print()
            print(title)
            for r in chosen:
                print(f"- {r.measure}: {r.why or 'see the table'}")
    sys.stdout.flush()


def met_text(met: bool | None) -> str:
    return "-" if met is None else ("yes" if met else "NO")


def calls_text(made: Counter[str]) -> str:
    order = ("POST", "PUT", "GET", "DELETE")
    parts = [f"{made[m]} {m}" for m in order if made[m]]
    parts += [f"{n} {m}" for m, n in sorted(made.items()) if m not in order and n]
    return " + ".join(parts) or "0"


# -- driving provider processes ------------------------------------------------------------------


class Bench:
    """The emulator, the baselines' ingredients and the rows measured so far."""

    def __init__(self, emulator: RecordingEmulator, sizes: Sizes, workdir: Path) -> None:
        self.emulator = emulator
        self.sizes = sizes
        self.workdir = workdir
        self.rows: list[Row] = []
        self.nothing_blob = serialize_provider(DoNothingProvider())

    @property
    def recorder(self) -> RequestRecorder:
        return self.emulator.recorder

    def config(self, token_cache: Path | None = None) -> dict[str, str]:
        config = {
            "cts:authUrl": f"{self.emulator.base_url}/v3",
            "cts:region": REGION,
            "cts:domainName": DOMAIN,
            "cts:userName": USER,
            "cts:password": PASSWORD,
        }
        if token_cache is not None:
            config["cts:tokenCache"] = str(token_cache)
        return config

    def harness(self, *, nothing: bool = False) -> EngineHarness:
        harness = EngineHarness(project="pulumi-cts-bench", call_timeout=120, startup_timeout=120)
        if nothing:
            harness.blob = self.nothing_blob
        return harness

    def configure(self, harness: EngineHarness, token_cache: Path | None = None) -> EngineHarness:
        harness.configure(self.config(token_cache), secret_keys=("cts:password",))
        return harness


def program(project: str, *, status: str = "enabled", prefix: str = "audit") -> dict[str, Any]:
    """The inputs a `Tracker` registers: declared settings plus the read-only placeholders."""
    return {
        "bucket_name": BUCKET,
        "file_prefix_name": prefix,
        "status": status,
        "project_name": project,
        "tracker_name": None,
        "detail": None,
        "create_time": None,
        "domain_id": None,
    }


class OperationCounter:
    """The requests each engine call caused, as the emulator saw them."""

    def __init__(self, recorder: RequestRecorder) -> None:
        self.recorder = recorder
        self.cts: dict[str, list[Counter[str]]] = defaultdict(list)
        self.any_http: dict[str, int] = defaultdict(int)
        self.hits: list[Hit] = []

    def run(self, operation: str, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        mark = self.recorder.mark()
        result = call(*args, **kwargs)
        hits = self.recorder.since(mark)
        self.hits += hits
        self.cts[operation].append(Counter(h.method for h in hits if h.service == "cts"))
        self.any_http[operation] = max(self.any_http[operation], len(hits))
        return result

    def worst(self, operation: str) -> Counter[str]:
        return max(self.cts[operation], key=lambda made: (made.total(), sorted(made.items())))


def lifecycle(harness: EngineHarness, counter: OperationCounter, project: str, status: str) -> None:
    """What `pulumi up` (create), `up --refresh`, a changed program and `destroy` ask of the provider."""
    first = program(project, status=status)
    inputs = counter.run("check", harness.check, {}, first).inputs
    created = counter.run(f"create ({status})", harness.create, inputs)
    counter.run("read", harness.read, created.id, created.outputs, inputs)
    news = counter.run("check", harness.check, inputs, program(project, status=status, prefix="audit-v2")).inputs
    counter.run("diff", harness.diff, created.id, created.outputs, news, inputs)
    updated = counter.run("update", harness.update, created.id, created.outputs, news, inputs)
    counter.run("delete", harness.delete, created.id, updated.outputs, news)


def measure_lifecycles(bench: Bench, main: EngineHarness) -> list[Hit]:
    sizes = bench.sizes
    counter = OperationCounter(bench.recorder)
    mark = bench.recorder.mark()
    for i in range(sizes.projects):
        lifecycle(main, counter, f"{REGION}_bench-n{i:02d}", "disabled" if i % 2 else "enabled")
    many = bench.recorder.since(mark)
    mark = bench.recorder.mark()
    for _round in range(sizes.rounds):
        lifecycle(main, counter, f"{REGION}_bench-one", "enabled")
    one = bench.recorder.since(mark)

    iam_many, iam_one = iam_requests(many), iam_requests(one)
    bench.rows.append(
        Row(
            ROW_IAM_PROJECTS,
            str(iam_many),
            f"{sizes.projects} scopes",
            ratio_text(iam_many, sizes.projects),
            "1 per scope",
            iam_many == sizes.projects,
            f"{iam_many} token requests for {sizes.projects} scopes",
        )
    )
    bench.rows.append(
        Row(
            ROW_IAM_ONE,
            str(iam_one),
            "1 scope",
            ratio_text(iam_one, 1),
            "1",
            iam_one == 1,
            f"{iam_one} token requests for one scope over {sizes.rounds} lifecycles",
        )
    )
    for row, operation in ((ROW_HTTP_CHECK, "check"), (ROW_HTTP_DIFF, "diff")):
        requests_made = counter.any_http[operation]
        bench.rows.append(
            Row(row, str(requests_made), goal="0", met=requests_made == 0, why=f"{requests_made} requests")
        )
    goals: list[tuple[str, str, dict[str, int], str]] = [
        (ROW_HTTP_CREATE, "create (enabled)", {"POST": 1}, "1 POST"),
        (ROW_HTTP_CREATE_DISABLED, "create (disabled)", {"POST": 1, "PUT": 1}, "1 POST + 1 PUT"),
        (ROW_HTTP_READ, "read", {"GET": 1}, "1 GET"),
        (ROW_HTTP_UPDATE, "update", {"PUT": 1, "GET": 1}, "1 PUT + <=1 GET"),
        (ROW_HTTP_DELETE, "delete", {"DELETE": 1}, "1 DELETE"),
    ]
    for row, operation, allowed, goal in goals:
        made = counter.worst(operation)
        within = all(n <= allowed.get(m, 0) for m, n in made.items())
        why = f"made {calls_text(made)}"
        if operation == "create (disabled)" and made["GET"]:
            why += (
                "; CTS creates trackers enabled, so the provider PUTs the status, and the documented PUT "
                "answer has no body, so TrackerProvider._put reads the tracker back with a GET (the "
                "read-back the update goal allows)"
            )
        bench.rows.append(
            Row(row, f"{calls_text(made)} (worst of {len(counter.cts[operation])})", "-", "-", goal, within, why)
        )
    return counter.hits


class RawGetClient:
    """The raw GET floor, timed in a process of its own (`benchmarks/raw_get_client.py`)."""

    def __init__(self, token: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.raw_get_client", FLOOR_HEADER],
            cwd=REPO_ROOT,
            env={**os.environ, "BENCH_TOKEN": token},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def get(self, count: int, url: str, *, new_connections: bool = False) -> list[float]:
        """Seconds each of `count` GETs of `url` took: over the client's kept-alive connection, or each on a
        new connection that the request asks the server to close."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(f"{count} {url}{' close' if new_connections else ''}\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"the raw GET client stopped (exit code {self.process.poll()})")
        return [float(seconds) for seconds in json.loads(line)]

    def __enter__(self) -> RawGetClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def floor_token(bench: Bench, project: str) -> tuple[str, str]:
    """A token for the floor's GETs (asked as another user) and the project's id."""
    answer = requests.post(
        f"{bench.emulator.base_url}/v3/auth/tokens",
        json={
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"name": "bench-floor", "password": "floor", "domain": {"name": DOMAIN}}},
                },
                "scope": {"project": {"name": project}},
            }
        },
        headers={FLOOR_HEADER: "1"},
        timeout=30,
    )
    answer.raise_for_status()
    return answer.headers["X-Subject-Token"], str(answer.json()["token"]["project"]["id"])


def measure_reads(bench: Bench, main: EngineHarness, stack: ExitStack) -> list[Hit]:
    """Reads through the provider against two floors, in interleaved blocks: the same Reads answered
    by a do-nothing provider, and raw keep-alive GETs of the same tracker from another process."""
    sizes = bench.sizes
    project = f"{REGION}_bench-reads"
    inputs = main.check({}, program(project)).inputs
    ours = main.create(inputs)

    # The do-nothing provider gets the very same property bags, so both carry the same gRPC payload.
    nothing = stack.enter_context(bench.harness(nothing=True))
    bench.configure(nothing)
    nothing_outputs = {**ours.outputs, PROVIDER_KEY: nothing.blob}
    nothing_inputs = {**inputs, PROVIDER_KEY: nothing.blob}

    token, project_id = floor_token(bench, project)
    raw = stack.enter_context(RawGetClient(token))
    path = f"/v1.0/{project_id}/tracker"
    raw_times: list[float] = []

    def our_reads(count: int) -> None:
        for _ in range(count):
            main.read(ours.id, ours.outputs, inputs)

    def nothing_reads(count: int) -> None:
        for _ in range(count):
            nothing.read(ours.id, nothing_outputs, nothing_inputs)

    def raw_gets(count: int) -> None:
        raw_times.extend(raw.get(count, bench.emulator.base_url + path))

    kinds: dict[str, Callable[[int], None]] = {"ours": our_reads, "grpc floor": nothing_reads, "http floor": raw_gets}
    pids = {"ours": main.pid, "grpc floor": nothing.pid, "http floor": raw.pid}
    for run in kinds.values():
        run(5)
    raw_times.clear()
    totals = dict.fromkeys(kinds, 0.0)
    cpu = dict.fromkeys(kinds, 0.0)
    per_block = sizes.reads // sizes.read_blocks
    ours_hits: list[Hit] = []
    floor_mark = bench.recorder.mark()
    for block in range(sizes.read_blocks):
        names = list(kinds)
        names = names[block % len(names) :] + names[: block % len(names)]
        for name in names:
            mark = bench.recorder.mark()
            cpu_before = cpu_seconds(pids[name])
            started = time.perf_counter()
            kinds[name](per_block)
            totals[name] += time.perf_counter() - started
            cpu[name] += cpu_seconds(pids[name]) - cpu_before
            if name == "ours":
                ours_hits += bench.recorder.since(mark)
    # Each GET as the raw client timed it, without the pipe that carries the command.
    totals["http floor"] = sum(raw_times)
    floor_hits = [h for h in bench.recorder.since(floor_mark) if h.floor]
    reads = per_block * sizes.read_blocks
    floor = totals["grpc floor"] + totals["http floor"]
    ratio = totals["ours"] / floor

    def per_read(seconds: float) -> str:
        return f"{seconds / reads * 1000:.2f} ms"

    own = cpu["ours"] - cpu["grpc floor"] - cpu["http floor"]
    bench.rows.append(
        Row(
            ROW_READS,
            f"{totals['ours']:.2f} for {reads}",
            f"{floor:.2f} = {totals['grpc floor']:.2f} do-nothing + {totals['http floor']:.2f} raw GETs",
            f"{ratio:.2f}x",
            "<= 1.3x",
            ratio <= 1.3,
            f"{ratio:.2f}x: per read {per_read(totals['ours'])} against {per_read(totals['grpc floor'])} + "
            f"{per_read(totals['http floor'])} for the floors. CPU per read: provider process {per_read(cpu['ours'])}, "
            f"do-nothing provider process {per_read(cpu['grpc floor'])}, raw GET client {per_read(cpu['http floor'])}; "
            f"what is left, {per_read(own)}, is TrackerProvider's own Python per read (settings and scope lookup, "
            "schema mapping of the answer, and the refreshed inputs it returns, which the servicer serializes "
            "as a second property bag)",
            explain=True,
        )
    )
    server_ms = statistics.fmean(h.seconds for h in floor_hits) * 1000
    round_trip_ms = statistics.fmean(raw_times) * 1000
    bench.rows.append(
        Row(
            ROW_EMULATOR_TIME,
            f"{server_ms:.2f}",
            f"{round_trip_ms:.2f} raw keep-alive GET round trip",
            f"{server_ms / round_trip_ms:.2f}x",
            "reported (its share of the floor)",
        )
    )
    slowest = max(raw_times) * 1000
    bench.rows.append(
        Row(
            ROW_EMULATOR_STALL,
            f"{slowest:.1f}",
            f"{statistics.median(raw_times) * 1000:.2f} median",
            ratio_text(slowest, statistics.median(raw_times) * 1000),
            "< 40 (no Nagle/delayed-ACK stall)",
            slowest < 40,
            f"one raw GET took {slowest:.1f} ms",
        )
    )

    floor_peers = len({h.peer for h in floor_hits})
    bench.rows.append(
        Row(
            ROW_EMULATOR_STOCK_CONNECTIONS,
            f"{floor_peers} for {len(floor_hits)} requests",
            "1 (one keep-alive client)",
            ratio_text(floor_peers, 1),
            "1 per client, kept alive",
            floor_peers == 1,
            f"the raw GET client's one session needed {floor_peers} TCP connections for {len(floor_hits)} GETs: "
            "the emulator closed connections a keep-alive client wanted to reuse",
        )
    )
    # The same GETs, each on a new connection: what keeping connections alive saves per request.
    fresh_times = raw.get(sizes.reads, bench.emulator.base_url + path, new_connections=True)
    fresh_ms = statistics.fmean(fresh_times) * 1000
    bench.rows.append(
        Row(
            ROW_EMULATOR_STOCK_TIME,
            f"{round_trip_ms:.2f}",
            f"{fresh_ms:.2f} with a new connection per GET",
            ratio_text(round_trip_ms, fresh_ms),
            "reported (what keep-alive saves)",
        )
    )
    main.delete(ours.id, ours.outputs, inputs)
    return ours_hits


def measure_creates(bench: Bench, stack: ExitStack) -> None:
    """Creates in a fresh provider process: sequential against 4 callers, with tokens already cached."""
    sizes = bench.sizes
    harness = stack.enter_context(bench.harness())
    bench.configure(harness)
    projects = [f"{REGION}_bench-c{i:02d}" for i in range(sizes.creates)]
    inputs = [harness.check({}, program(p)).inputs for p in projects]
    pool = stack.enter_context(ThreadPoolExecutor(sizes.callers))
    mark = bench.recorder.mark()

    def delete_all(created: Sequence[CreateResponse]) -> None:
        list(
            pool.map(
                lambda pair: harness.delete(pair[0].id, pair[0].outputs, pair[1]), zip(created, inputs, strict=True)
            )
        )

    # Warm up: one token per project and the keep-alive connections, as in a long `pulumi up`.
    delete_all(list(pool.map(harness.create, inputs)))

    @dataclass
    class Timing:
        wall: float = 0.0
        provider_cpu: float = 0.0  # the provider process: one interpreter, one GIL
        driver_cpu: float = 0.0  # this process: the engine's side of gRPC and the emulator, one GIL

        def bound(self, cores: int) -> float:
            """The least wall time these CPU seconds allow, however many callers there are."""
            return max(self.provider_cpu, self.driver_cpu, (self.provider_cpu + self.driver_cpu) / cores)

    def timed(create_all: Callable[[], list[CreateResponse]], into: Timing) -> None:
        provider_before, driver_before = cpu_seconds(harness.pid), time.process_time()
        started = time.perf_counter()
        created = create_all()
        into.wall += time.perf_counter() - started
        into.provider_cpu += cpu_seconds(harness.pid) - provider_before
        into.driver_cpu += time.process_time() - driver_before
        delete_all(created)

    def one_by_one() -> list[CreateResponse]:
        return [harness.create(i) for i in inputs]

    def four_at_once() -> list[CreateResponse]:
        return list(pool.map(harness.create, inputs))

    def compare(rounds: int) -> tuple[Timing, Timing]:
        """Both ways, `rounds` times, alternating which goes first."""
        seq, conc = Timing(), Timing()
        for round_ in range(rounds):
            steps = [(one_by_one, seq), (four_at_once, conc)]
            for create_all, into in steps if round_ % 2 == 0 else steps[::-1]:
                timed(create_all, into)
        return seq, conc

    cores = os.cpu_count() or 1
    seq, conc = compare(sizes.create_rounds)
    n = sizes.creates * sizes.create_rounds
    ratio = conc.wall / seq.wall
    bound = seq.bound(cores) / seq.wall
    bench.rows.append(
        Row(
            ROW_CREATES,
            f"{conc.wall:.2f} for {n}",
            f"{seq.wall:.2f} sequential",
            f"{ratio:.2f}x",
            "<= 0.4x",
            ratio <= 0.4,
            f"{ratio:.2f}x. Against a local emulator a create waits for nothing but CPU: per create the provider "
            f"process used {seq.provider_cpu / n * 1000:.1f} ms and this process (gRPC client and emulator) "
            f"{seq.driver_cpu / n * 1000:.1f} ms of the {seq.wall / n * 1000:.1f} ms a sequential create took. Each "
            f"process runs Python under one GIL and there are {cores} cores, so no number of callers can go "
            f"below {bound:.2f}x here; the +latency row is the test of the worker pool",
            explain=True,
        )
    )
    fault = bench.emulator.control.add_fault(service="cts", latency_ms=sizes.latency_ms)
    try:
        seq, conc = compare(sizes.create_rounds)
    finally:
        bench.emulator.control.remove_fault(fault)
    ratio = conc.wall / seq.wall
    ideal = max(1 / sizes.callers, seq.bound(cores) / seq.wall)
    bench.rows.append(
        Row(
            ROW_CREATES_LATENCY,
            f"{conc.wall:.2f} for {n}",
            f"{seq.wall:.2f} sequential",
            f"{ratio:.2f}x",
            "<= 0.4x",
            ratio <= 0.4,
            f"{ratio:.2f}x with {sizes.latency_ms} ms of service latency per CTS request; the CPU used allows "
            f"{ideal:.2f}x with {sizes.callers} callers",
            explain=True,
        )
    )
    conns = connections(bench.recorder.since(mark))
    bench.rows.append(
        Row(
            ROW_TCP_CONCURRENT,
            str(conns),
            f"{sizes.callers} callers",
            ratio_text(conns, sizes.callers),
            f"<= {sizes.callers} (one per concurrent call, kept alive)",
            conns <= sizes.callers,
            f"{conns} connections for {sizes.callers} concurrent callers",
        )
    )


def measure_blob(bench: Bench) -> None:
    ours = serialize_provider(TrackerProvider())
    snippet = (
        "from pulumi.dynamic.dynamic import serialize_provider\n"
        "from pulumi_cts import TrackerProvider\n"
        "print(serialize_provider(TrackerProvider()))\n"
    )
    children = []
    for seed in range(bench.sizes.fresh_blobs):
        cwd = bench.workdir / f"blob-{seed}"
        cwd.mkdir()
        env = child_environment({**os.environ, "PYTHONHASHSEED": str(seed + 1)})
        children.append(
            subprocess.Popen(
                [sys.executable, "-c", snippet], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        )
    blobs = {ours}
    for child in children:
        out, err = child.communicate(timeout=120)
        if child.returncode != 0:
            raise RuntimeError(f"serializing the provider in a fresh process failed:\n{err.decode()}")
        blobs.add(out.decode().strip())
    size, floor = len(ours.encode()), len(bench.nothing_blob.encode())
    bench.rows.append(
        Row(
            ROW_BLOB_SIZE,
            str(size),
            f"{floor} do-nothing provider",
            ratio_text(size, floor),
            "< 512",
            size < 512,
            f"{size} bytes",
        )
    )
    bench.rows.append(
        Row(
            ROW_BLOB_STABLE,
            str(len(blobs)),
            f"{len(children) + 1} processes",
            "-",
            "1",
            len(blobs) == 1,
            f"{len(blobs)} different blobs: the provider would show a ~__provider diff between runs",
        )
    )


def measure_cold_start(bench: Bench) -> None:
    """Process start to the first answered Create (Configure, Check, Create), against a do-nothing provider."""
    phases = ("start", "configure", "check", "create")

    def once(nothing: bool, project: str) -> dict[str, float]:
        harness = bench.harness(nothing=nothing)
        try:
            times = [time.perf_counter()]
            harness.start()
            times.append(time.perf_counter())
            bench.configure(harness)
            times.append(time.perf_counter())
            # The first call that carries the blob unpickles the provider (and imports its module).
            inputs = harness.check({}, program(project)).inputs
            times.append(time.perf_counter())
            created = harness.create(inputs)
            times.append(time.perf_counter())
            harness.delete(created.id, created.outputs, inputs)
        finally:
            harness.close()
        spans = {phase: end - begin for phase, begin, end in zip(phases, times[:-1], times[1:], strict=True)}
        return {**spans, "total": times[-1] - times[0]}

    ours: list[dict[str, float]] = []
    bare: list[dict[str, float]] = []
    for rep in range(bench.sizes.cold_starts):
        project = f"{REGION}_bench-cold{rep}"
        if rep % 2:
            bare.append(once(True, project))
            ours.append(once(False, project))
        else:
            ours.append(once(False, project))
            bare.append(once(True, project))

    def median(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(run[key] for run in runs)

    value, floor = median(ours, "total"), median(bare, "total")
    spans = ", ".join(f"{p} {median(ours, p):.3f} vs {median(bare, p):.3f}" for p in phases)
    bench.rows.append(
        Row(
            ROW_COLD_START,
            f"{value:.3f}",
            f"{floor:.3f} do-nothing provider",
            f"{value / floor:.2f}x",
            "<= 1.3x",
            value / floor <= 1.3,
            f"{value / floor:.2f}x, medians in s ({spans}). The first Check unpickles TrackerProvider, which "
            "imports pulumi_cts.provider and with it requests/urllib3, none of which `python -m pulumi.dynamic` "
            "loads; the first Create adds the IAM token request before its POST",
            explain=True,
        )
    )


def run_pipelines(bench: Bench, *, shared_project: bool, token_cache: Path | None) -> tuple[int, float]:
    """M provider processes started at once, each running one pipeline; returns IAM requests and wall time."""
    count = bench.sizes.pipelines
    harnesses = [bench.harness() for _ in range(count)]
    existing: tuple[CreateResponse, dict[str, Any]] | None = None
    if shared_project:
        # A stack that already holds the tracker: `pulumi preview --refresh` in M pipelines.
        with bench.harness() as owner:
            bench.configure(owner)
            inputs = owner.check({}, program(f"{REGION}_bench-shared")).inputs
            existing = (owner.create(inputs), inputs)

    def pipeline(index: int) -> None:
        harness = harnesses[index]
        harness.start()
        bench.configure(harness, token_cache)
        if existing is not None:
            created, inputs = existing
            news = harness.check(inputs, program(f"{REGION}_bench-shared")).inputs
            read = harness.read(created.id, created.outputs, inputs)
            harness.diff(created.id, read.outputs, news, inputs)
        else:
            project = f"{REGION}_bench-p{index:02d}-{'cache' if token_cache else 'nocache'}"
            inputs = harness.check({}, program(project)).inputs
            created = harness.create(inputs)
            read = harness.read(created.id, created.outputs, inputs)
            harness.delete(created.id, read.outputs, inputs)

    mark = bench.recorder.mark()
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(count) as pool:
            for future in [pool.submit(pipeline, i) for i in range(count)]:
                future.result()
        wall = time.perf_counter() - started
    finally:
        for harness in harnesses:
            harness.close()
    iam = iam_requests(bench.recorder.since(mark))
    if existing is not None:
        with bench.harness() as owner:
            bench.configure(owner)
            owner.delete(existing[0].id, existing[0].outputs, existing[1])
    return iam, wall


def measure_pipelines(bench: Bench) -> None:
    """M pipelines with and without the shared token cache, in alternating order, each cache run fresh."""
    m = bench.sizes.pipelines
    for shared in (True, False):
        iam: dict[bool, list[int]] = {True: [], False: []}
        wall: dict[bool, float] = {True: 0.0, False: 0.0}
        for round_ in range(bench.sizes.pipeline_rounds):
            order = (True, False) if (round_ + shared) % 2 else (False, True)
            for cached in order:
                cache = bench.workdir / f"token-cache-{'one' if shared else 'own'}-{round_}" if cached else None
                requested, seconds = run_pipelines(bench, shared_project=shared, token_cache=cache)
                iam[cached].append(requested)
                wall[cached] += seconds
        scopes = 1 if shared else m
        worst_cached, worst_plain = max(iam[True]), max(iam[False])
        what = "one project (Check, Read, Diff)" if shared else "own projects (Check, Create, Read, Delete)"
        runs = bench.sizes.pipeline_rounds
        bench.rows.append(
            Row(
                ROW_PIPELINES_ONE_IAM if shared else ROW_PIPELINES_OWN_IAM,
                f"{worst_cached} with cts:tokenCache",
                f"{worst_plain} without",
                ratio_text(worst_cached, worst_plain),
                f"1 per scope ({scopes})",
                worst_cached == scopes,
                f"{worst_cached} token requests from {m} processes in {what}, {scopes} scope(s)",
            )
        )
        bench.rows.append(
            Row(
                ROW_PIPELINES_ONE_WALL if shared else ROW_PIPELINES_OWN_WALL,
                f"{wall[True]:.2f} with cts:tokenCache" + (f" ({runs} runs)" if runs > 1 else ""),
                f"{wall[False]:.2f} without",
                ratio_text(wall[True], wall[False]),
                "reported",
            )
        )


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                model = text.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs, {model}, Python {platform.python_version()}, {platform.system()}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run, not a measurement")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    # Every provider process gets its settings from the stack config below, never from this shell.
    for name in [k for k in os.environ if k.startswith("CTS_")]:
        del os.environ[name]
    # An installed package has its bytecode compiled by pip; a checkout may not (e.g. under
    # PYTHONDONTWRITEBYTECODE). Compile it, so start-up is measured as users get it.
    compileall.compile_dir(str(Path(pulumi_cts.__file__).parent), quiet=1)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"pulumi-cts provider costs ({'quick' if args.quick else 'full'} run, {when})")
    print(f"machine: {machine()}")
    print(
        f"N={sizes.projects} projects, R={sizes.rounds} rounds, {sizes.reads} reads, {sizes.creates} creates, "
        f"{sizes.callers} callers, M={sizes.pipelines} pipelines, {sizes.cold_starts} cold starts each"
    )
    sys.stdout.flush()

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pulumi-cts-bench-")))
        opens = stack.enter_context(mock.patch.object(sqlite3, "connect", wraps=sqlite3.connect))
        emulator = RecordingEmulator(buckets=(BUCKET,), state_path=str(workdir / "emulator.sqlite3"))
        stack.enter_context(emulator)
        opens_at_start = opens.call_count
        bench = Bench(emulator, sizes, workdir)

        # One long-lived provider process, like the one behind a `pulumi up`: only it talks to the
        # emulator while the connection count of a process is taken.
        main_harness = stack.enter_context(bench.harness())
        bench.configure(main_harness)
        main_hits = measure_lifecycles(bench, main_harness)
        main_hits += measure_reads(bench, main_harness, stack)
        conns = connections(main_hits)
        bench.rows.append(
            Row(
                ROW_TCP,
                str(conns),
                "1 host (IAM and CTS)",
                ratio_text(conns, 1),
                "1 per host, kept alive",
                conns == 1,
                f"{conns} connections for {len(main_hits)} requests to one host",
            )
        )
        measure_creates(bench, stack)
        measure_blob(bench)
        measure_cold_start(bench)
        measure_pipelines(bench)

        every = bench.recorder.since(0)
        peers = {h.peer for h in every}
        with_nodelay = {h.peer for h in every if h.nodelay}
        bench.rows.append(
            Row(
                ROW_EMULATOR_NODELAY,
                f"{len(with_nodelay)} of {len(peers)}",
                "-",
                "-",
                "all",
                with_nodelay == peers,
                f"{len(peers - with_nodelay)} connections without TCP_NODELAY",
            )
        )
        served_opens = opens.call_count - opens_at_start
        bench.rows.append(
            Row(
                ROW_EMULATOR_SQLITE,
                f"{served_opens} over {len(every)} requests",
                f"{opens_at_start} at start",
                "-",
                "0",
                served_opens == 0,
                f"the emulator opened its state file {served_opens} more times while serving",
            )
        )

    order = {name: i for i, name in enumerate(ROW_ORDER)}
    print()
    print_table(sorted(bench.rows, key=lambda r: order[r.measure]))
    return 0


ROW_ORDER = (
    ROW_IAM_PROJECTS,
    ROW_IAM_ONE,
    ROW_HTTP_CHECK,
    ROW_HTTP_DIFF,
    ROW_HTTP_CREATE,
    ROW_HTTP_CREATE_DISABLED,
    ROW_HTTP_READ,
    ROW_HTTP_UPDATE,
    ROW_HTTP_DELETE,
    ROW_TCP,
    ROW_TCP_CONCURRENT,
    ROW_BLOB_SIZE,
    ROW_BLOB_STABLE,
    ROW_COLD_START,
    ROW_READS,
    ROW_CREATES,
    ROW_CREATES_LATENCY,
    ROW_PIPELINES_ONE_IAM,
    ROW_PIPELINES_ONE_WALL,
    ROW_PIPELINES_OWN_IAM,
    ROW_PIPELINES_OWN_WALL,
    ROW_EMULATOR_TIME,
    ROW_EMULATOR_STALL,
    ROW_EMULATOR_STOCK_CONNECTIONS,
    ROW_EMULATOR_STOCK_TIME,
    ROW_EMULATOR_NODELAY,
    ROW_EMULATOR_SQLITE,
)


if __name__ == "__main__":
    raise SystemExit(main())
