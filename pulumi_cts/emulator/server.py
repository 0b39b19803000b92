"""Serving the emulator: the WSGI dispatcher (routing, faults, request log) and the `Emulator` server.

`Emulator` serves HTTP/1.1 with keep-alive, as the API gateway in front of the real services does, from cheroot's
thread pool in daemon threads, for tests and tools, over HTTP or (given an `ssl.SSLContext`) HTTPS;
`python -m pulumi_cts.emulator` wraps it for the CLI.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from cheroot.makefile import MakeFile, StreamReader, StreamWriter
from cheroot.server import HTTPConnection
from cheroot.ssl import Adapter
from cheroot.wsgi import Gateway_10
from cheroot.wsgi import Server as WsgiServer
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed as RouteMethodNotAllowed
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Request, Response

from pulumi_cts.emulator import exceptions
from pulumi_cts.emulator.backend import Backend, Clock, RequestLog, RequestRecord
from pulumi_cts.emulator.common import REQUEST_ID_KEY, decode_json, error_response, iso_timestamp, json_response
from pulumi_cts.emulator.control_client import EmulatorControl, pinned_session
from pulumi_cts.emulator.control_responses import ControlResponse
from pulumi_cts.emulator.cts_v1_responses import CtsResponse
from pulumi_cts.emulator.cts_v3_responses import CtsV3Response
from pulumi_cts.emulator.faults import FaultRule, FaultRules
from pulumi_cts.emulator.gateway import Authenticator
from pulumi_cts.emulator.iam_responses import IamResponse
from pulumi_cts.emulator.models import utcnow
from pulumi_cts.emulator.urls import service_of, url_map

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

logger = logging.getLogger("pulumi_cts.emulator")

MAX_BODY_BYTES = 1024 * 1024
# Where the server leaves the client's socket in the WSGI environ, for dropped-connection faults.
SOCKET_KEY = "pulumi_cts.emulator.socket"
# A connection idle for this long is closed; one that sends nothing for this long gives up its worker thread.
CONNECTION_TIMEOUT = 60
# Worker threads answer requests; connections waiting between requests hold none. More than any test or the
# benchmark sends at once: each one costs every start and stop of an emulator.
WORKER_THREADS = 32
MASKED_HEADERS = frozenset({"x-auth-token", "x-subject-token", "authorization", "x-security-token", "cookie"})
_LOGGED_BODY_LIMIT = 64 * 1024

Handler = Callable[..., Response]
# Where to reach a server that listens on every address.
_LOOPBACK = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}


class EmulatorBindError(OSError):
    """The emulator could not listen on the requested address (typically: the port is taken)."""

    def __init__(self, host: str, port: int, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause))
        self.host = host
        self.port = port

    def __str__(self) -> str:
        reason = str(self.strerror).lower()
        if self.errno == errno.EADDRINUSE:
            reason += "; another program holds the port: choose another one, or 0 for any free port"
        return f"cannot listen on {self.host}:{self.port}: {reason}"


def _masked_headers(request: Request) -> dict[str, str]:
    return {name: "***" if name.lower() in MASKED_HEADERS else value for name, value in request.headers.items()}


def _logged_body(service: str, request: Request) -> Any:
    # IAM bodies carry passwords: never keep them.
    if service != "cts":
        return None
    raw = request.get_data(cache=True)[:_LOGGED_BODY_LIMIT]
    if not raw:
        return None
    try:
        return decode_json(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


def _drop_connection(request: Request) -> Response:
    """Close the client's TCP connection so it gets no answer at all; the server thread carries on."""
    sock = request.environ.get(SOCKET_KEY)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    # The server's write to the closed socket fails, and it closes the connection without a word.
    return Response(b"", status=500)


def _internal_error(service: str, request: Request, error: Exception) -> Response:
    """The JSON 500 of the service for a failure of the emulator itself: one log line, the traceback only at
    debug level, so that a client's request never puts a traceback on the emulator's stderr."""
    logger.error("unexpected %s while handling %s %s: %s", type(error).__name__, request.method, request.path, error)
    logger.debug("traceback of the unexpected error", exc_info=error)
    internal = exceptions.IamInternalError() if service == "iam" else exceptions.CtsInternalError()
    return error_response(internal)


def _bad_body(service: str, message: str) -> exceptions.EmulatorError:
    if service == "iam":
        return exceptions.MalformedRequest(message)
    return exceptions.InvalidBody(message)


class EmulatorApp:
    """The WSGI application: routes a request, applies faults, runs the handler, records the request."""

    def __init__(
        self,
        backend: Backend,
        token_ttl: float = 86400,
        access_keys: Mapping[str, str] | None = None,
        users: Mapping[str, str] | None = None,
    ) -> None:
        self.backend = backend
        self.faults = FaultRules()
        self.request_log = RequestLog()
        auth = Authenticator(backend, access_keys or {})
        groups: dict[str, object] = {
            "iam": IamResponse(backend, auth, token_ttl, users),
            "cts": CtsResponse(backend, auth),
            "ctsv3": CtsV3Response(backend, auth),
            "control": ControlResponse(backend, self.faults, self.request_log),
        }
        self._handlers: dict[str, Handler] = {}
        for rule in url_map.iter_rules():
            group, name = rule.endpoint.split(".", 1)
            self._handlers[rule.endpoint] = getattr(groups[group], name)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = MAX_BODY_BYTES + 1
        request_id = uuid.uuid4().hex
        try:
            response = self.dispatch(request, request_id)
        except Exception as e:  # outside every handler (faults, the request log): still a JSON answer
            response = _internal_error(service_of(request.path), request, e)
        response.headers["X-Request-Id"] = request_id
        return response(environ, start_response)

    def _route(self, request: Request) -> tuple[str | None, dict[str, Any], exceptions.EmulatorError | None]:
        adapter = url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except RouteMethodNotAllowed as e:
            return None, {}, exceptions.MethodNotAllowed(list(e.valid_methods or []))
        except (RequestRedirect, HTTPException):
            return None, {}, exceptions.ApiNotFound()
        return str(endpoint), dict(values), None

    def dispatch(self, request: Request, request_id: str) -> Response:
        request.environ[REQUEST_ID_KEY] = request_id
        endpoint, values, routing_error = self._route(request)
        service = service_of(request.path, endpoint)
        if service == "control":
            return self._answer(endpoint, values, routing_error, request, request_id, service)

        fault = self.faults.take(service, request.method, request.path)
        if fault is not None and fault.latency_ms:
            time.sleep(fault.latency_ms / 1000)
        if fault is not None and fault.action == "drop":
            self._record(request, request_id, service, None, fault, dropped=True)
            return _drop_connection(request)
        if fault is not None and fault.answers:
            response = self._fault_response(fault, service, request_id)
        else:
            response = self._answer(endpoint, values, routing_error, request, request_id, service)
        dropped = fault is not None and fault.action == "drop_after"
        self._record(request, request_id, service, response.status_code, fault, dropped=dropped)
        if dropped:
            return _drop_connection(request)
        return response

    def _answer(
        self,
        endpoint: str | None,
        values: dict[str, Any],
        routing_error: exceptions.EmulatorError | None,
        request: Request,
        request_id: str,
        service: str,
    ) -> Response:
        try:
            if routing_error is not None:
                raise routing_error
            if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
                raise exceptions.RequestEntityTooLarge()
            try:
                body = request.get_data(cache=True)
            except HTTPException as e:
                # The client went away or sent a broken chunked body.
                raise _bad_body(service, "The request body could not be read.") from e
            # Chunked bodies have no Content-Length: werkzeug stops reading one byte past the limit.
            if len(body) > MAX_BODY_BYTES:
                raise exceptions.RequestEntityTooLarge()
            assert endpoint is not None
            return self._handlers[endpoint](request, **values)
        except exceptions.EmulatorError as e:
            if isinstance(e, exceptions.GatewayError):
                e.request_id = request_id
            return error_response(e)
        except Exception as e:
            return _internal_error(service, request, e)

    @staticmethod
    def _fault_response(fault: FaultRule, service: str, request_id: str) -> Response:
        assert fault.status is not None
        body = fault.error_body(service)
        if body["error_code"].startswith("APIGW."):
            body["request_id"] = request_id
        return json_response(body, fault.status, fault.headers())

    def _record(
        self,
        request: Request,
        request_id: str,
        service: str,
        status: int | None,
        fault: FaultRule | None,
        dropped: bool,
    ) -> None:
        body = None
        if request.content_length is None or request.content_length <= MAX_BODY_BYTES:
            try:
                body = _logged_body(service, request)
            except HTTPException:
                body = None
        self.request_log.append(
            RequestRecord(
                method=request.method,
                path=request.path,
                query=request.query_string.decode("latin-1"),
                service=service,
                status=status,
                headers=_masked_headers(request),
                body=body,
                request_id=request_id,
                time=iso_timestamp(utcnow()),
                fault_id=fault.id if fault else None,
                dropped=dropped,
            )
        )


class _Gateway(Gateway_10):
    """cheroot's WSGI 1.0 gateway, plus the client's socket (to drop it) and the promise that the input stream
    ends where the request body does (werkzeug reads a chunked body only with that promise)."""

    # cheroot's stubs leave its methods unannotated.
    def get_environ(self) -> dict[str, Any]:  # type: ignore[override]
        environ: dict[str, Any] = super().get_environ()  # type: ignore[no-untyped-call]
        environ[SOCKET_KEY] = self.req.conn.socket
        environ["wsgi.input_terminated"] = True
        return environ


class _Connection(HTTPConnection):
    """One client connection; over TLS it shakes hands on its first turn in a worker thread, so a client that
    never completes the handshake cannot hold up the thread that accepts everyone else's connections."""

    _handshake_done = False

    def __init__(self, server: _HttpServer, sock: socket.socket, makefile: Any = MakeFile) -> None:
        super().__init__(server, sock, makefile)
        # Small JSON answers on kept-alive connections: Nagle's delay would stall every second request.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def communicate(self) -> bool:
        if isinstance(self.socket, ssl.SSLSocket) and not self._handshake_done:
            try:
                self.socket.do_handshake()
            except OSError:
                # Plain HTTP, a wrong certificate on the client side, a timeout: nothing to answer.
                return False
            self._handshake_done = True
        return bool(super().communicate())  # type: ignore[no-untyped-call]


class _TlsAdapter(Adapter):
    """Serves TLS with a ready `ssl.SSLContext`; the handshake is left to `_Connection`."""

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(certificate=None, private_key=None)
        self.context = context

    def bind(self, sock: socket.socket) -> socket.socket:
        return sock

    def wrap(self, sock: socket.socket) -> tuple[ssl.SSLSocket, dict[str, str]]:
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), self.get_environ()

    def get_environ(self) -> dict[str, str]:
        return {"HTTPS": "on"}

    def makefile(self, sock: socket.socket, mode: str = "r", bufsize: int = -1) -> StreamReader | StreamWriter:
        return StreamReader(sock, mode, bufsize) if "r" in mode else StreamWriter(sock, mode, bufsize)


class _HttpServer(WsgiServer):
    """cheroot's threaded WSGI server on a socket the emulator has bound already (so a taken port is an
    `EmulatorBindError` at once), logging through the emulator's logger."""

    ConnectionClass = _Connection

    def __init__(self, sock: socket.socket, app: WSGIApplication, ssl_context: ssl.SSLContext | None) -> None:
        super().__init__(
            sock.getsockname()[:2],
            app,
            numthreads=WORKER_THREADS,
            server_name="pulumi-cts-emulator",
            request_queue_size=128,
            timeout=CONNECTION_TIMEOUT,
            shutdown_timeout=2,
        )
        self.gateway = _Gateway
        # Idle keep-alive connections wait in a selector, not in a thread: there is no reason to cap them.
        self.keep_alive_conn_limit = None  # type: ignore[assignment]
        self._bound_socket = sock
        if ssl_context is not None:
            self.ssl_adapter = _TlsAdapter(ssl_context)

    def bind(self, family: int, type: int, proto: int = 0) -> socket.socket:
        self.socket = self._bound_socket
        return self._bound_socket

    def error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        # Clients that go away, garbage on the socket: the server's business, debug lines at most.
        logger.log(min(level, logging.DEBUG), "%s", msg, exc_info=traceback)


def server_ssl_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A TLS server context from a PEM certificate (chain) and its private key; raises OSError/ssl.SSLError."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


class Emulator:
    """An in-process CTS + IAM emulator serving HTTP on `host:port` (port 0 = any free port).

    With `ssl_context` (a server-side `ssl.SSLContext`, e.g. from `server_ssl_context`) it serves HTTPS
    instead, and `base_url` and the token catalog say https. Use as a context manager, or call
    `start()` / `stop()`. `base_url` is known once started.
    """

    def __init__(
        self,
        *,
        buckets: Iterable[str] = (),
        kms_keys: Iterable[str] = (),
        token_ttl: float = 86400,
        state_path: str | None = None,
        access_keys: Mapping[str, str] | None = None,
        users: Mapping[str, str] | None = None,
        response_shape: str = "flat",
        put_body: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock = utcnow,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.ssl_context = ssl_context
        self.requested_port = port
        self._options: dict[str, Any] = {
            "buckets": tuple(buckets),
            "kms_keys": tuple(kms_keys),
            "state_path": state_path,
            "response_shape": response_shape,
            "put_body": put_body,
            "clock": clock,
        }
        self.token_ttl = token_ttl
        self.access_keys = dict(access_keys or {})
        self.users = dict(users) if users is not None else None
        self.backend: Backend | None = None
        self.app: EmulatorApp | None = None
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._control: EmulatorControl | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The bound port (kept after `stop()`, so a restart on the same port is possible)."""
        if self._port is None:
            raise RuntimeError("the emulator has not been started")
        return self._port

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "http" if self.ssl_context is None else "https"
        return f"{scheme}://{host}:{self.port}"

    @property
    def control(self) -> EmulatorControl:
        """A control client; over TLS it trusts exactly the certificate this emulator presents."""
        if self._control is None:
            session = pinned_session(self.host, self.port) if self.ssl_context is not None else None
            self._control = EmulatorControl(self.base_url, session=session)
        return self._control

    def wsgi_app(self, app: EmulatorApp) -> WSGIApplication:
        """The WSGI application the server runs: `app` itself; a subclass may wrap it to watch the traffic."""
        return app

    def _listen(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.requested_port))
            sock.listen(128)
        except OSError as e:
            sock.close()
            raise EmulatorBindError(self.host, self.requested_port, e) from e
        return sock

    def start(self) -> Emulator:
        """Bind and serve in daemon threads; raises `EmulatorBindError` at once if the address is taken."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        sock = self._listen()
        try:
            self.backend = Backend(**self._options)
            self.app = EmulatorApp(self.backend, self.token_ttl, self.access_keys, self.users)
            server = _HttpServer(sock, self.wsgi_app(self.app), self.ssl_context)
        except BaseException:
            sock.close()
            if self.backend is not None:
                self.backend.close()
                self.backend = None
            raise
        self._server = server
        self._port = int(sock.getsockname()[1])
        prepared = threading.Event()
        failures: list[BaseException] = []

        def serve() -> None:
            # Prepared in this daemon thread, so that the worker threads it starts are daemons too: an emulator
            # left running never keeps the interpreter from exiting.
            try:
                server.prepare()
            except BaseException as e:
                failures.append(e)
                return
            finally:
                prepared.set()
            server.serve()

        self._thread = threading.Thread(target=serve, name=f"cts-emulator-{self.port}", daemon=True)
        self._thread.start()
        prepared.wait()
        if failures:
            # A server that never got ready does not close its socket on stop.
            sock.close()
            self.stop()
            raise failures[0]
        return self

    def stop(self) -> None:
        """Stop serving and release the port and the state file; safe to call twice."""
        server, self._server = self._server, None
        if server is not None:
            self._shutdown(server)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._control is not None:
            self._control.close()
            self._control = None
        if self.backend is not None:
            self.backend.close()
            self.backend = None

    def _shutdown(self, server: _HttpServer) -> None:
        """`server.stop()`, without waiting out the serving loop's poll interval.

        The loop checks for a stop only between polls; a connection wakes its poll at once. A wake-up that
        arrives before the stop is flagged is served like any client that connects and says nothing.
        """
        stopper = threading.Thread(target=server.stop, name=f"cts-emulator-stop-{self.port}", daemon=True)
        stopper.start()
        address = (_LOOPBACK.get(self.host, self.host), self.port)
        while stopper.is_alive():
            with contextlib.suppress(OSError), socket.create_connection(address, timeout=1):
                pass
            stopper.join(0.005)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
