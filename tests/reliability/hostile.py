"""Hostile answers served by a running emulator: HTML, truncated or mistyped JSON, huge fields,
redirects to another host and error pages that echo the request, in place of the real answer.

`HostileAnswers` wraps the emulator's WSGI dispatch (the emulator runs in the test process, so this
reaches a provider in any process). A rule replaces the answers of matching requests; with
`after=True` the real handler runs first, so the service did the work and only its answer is
garbled. `Recorder` is a second server on 127.0.0.1 that only records what reaches it: the
"other host" of a redirect.
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from werkzeug.wrappers import Request, Response

from pulumi_cts.emulator import Emulator
from pulumi_cts.emulator.server import EmulatorApp

JSON = "application/json;charset=UTF-8"
HTML = "text/html; charset=utf-8"


@dataclasses.dataclass
class Rule:
    """Replace the answer of requests that match `method` (None: any) and the `path` regex."""

    path: str
    method: str | None = None
    status: int = 200
    body: bytes | Callable[[Request, Response | None], bytes] = b""
    content_type: str = JSON
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    times: int | None = 1
    after: bool = False
    hits: int = 0

    def matches(self, request: Request) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method is not None and request.method != self.method:
            return False
        return re.search(self.path, request.path) is not None

    def response(self, request: Request, real: Response | None) -> Response:
        """The hostile answer; a callable body may derive it from the real answer (`after=True`)."""
        body = self.body(request, real) if callable(self.body) else self.body
        return Response(body, status=self.status, content_type=self.content_type, headers=dict(self.headers))


class HostileAnswers:
    """Rules over one emulator's dispatch, installed until `close()`; records every token it issued."""

    def __init__(self, emulator: Emulator) -> None:
        app = emulator.app
        assert isinstance(app, EmulatorApp)
        self._app = app
        self._real = app.dispatch
        self._lock = threading.Lock()
        self.rules: list[Rule] = []
        self.issued_tokens: set[str] = set()
        self.received: list[tuple[str, str]] = []
        app.dispatch = self._dispatch  # type: ignore[method-assign]

    def serve(self, rule: Rule) -> Rule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.received.clear()

    def close(self) -> None:
        self._app.dispatch = self._real  # type: ignore[method-assign]

    def _take(self, request: Request) -> Rule | None:
        if request.path.startswith("/_emulator/"):
            return None
        with self._lock:
            self.received.append((request.method, request.path))
            for rule in self.rules:
                if rule.matches(request):
                    rule.hits += 1
                    return rule
        return None

    def _dispatch(self, request: Request, request_id: str) -> Response:
        rule = self._take(request)
        real = None
        if rule is None or rule.after:
            real = self._real(request, request_id)
            token = real.headers.get("X-Subject-Token")
            if token:
                self.issued_tokens.add(token)
            if rule is None:
                return real
        return rule.response(request, real)


class Recorder:
    """A server on 127.0.0.1 that answers 200 `{}` to anything and records each request's headers and body."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode(errors="replace") if length else ""
                recorder.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                )
                payload = b"{}"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _record

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Recorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def echo_page(request: Request, real: Response | None = None) -> bytes:
    """An error page that echoes the request it answers, credentials first (a careless gateway)."""
    tokens = "".join(f"<li>{k}: {v}</li>" for k, v in request.headers.items() if "token" in k.lower())
    others = "".join(f"<li>{k}: {v}</li>" for k, v in request.headers.items() if "token" not in k.lower())
    body = request.get_data(as_text=True)
    return f"<html><ul>{tokens}</ul><pre>{body}</pre><ul>{others}</ul><h1>400 Bad Request</h1></html>".encode()


def as_json(value: Any) -> bytes:
    return json.dumps(value).encode()
