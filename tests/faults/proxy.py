"""A small threaded HTTP proxy in front of a moto server that misbehaves the way S3 and networks do.

Every request is read whole, then either forwarded to moto and its answer relayed, or met with a fault:

    slowdown       answer `503 SlowDown` with the XML body S3 sends (no body for HEAD, as S3 does)
    reset          close the connection with a TCP reset, without forwarding or answering
    reset_after    forward to moto (so the request takes effect), then reset instead of answering:
                   the client cannot tell it from `reset`, and botocore sends the request again
    error          answer an S3-style error (status, code, message) without forwarding
    answer         answer with a given status and XML body without forwarding (what moto cannot say)
    hold           wait until `release()` before forwarding (a request in flight, for the test to act on)

Faults come from rules (`on(...)`, matched in order, each `times` times) and from random shares
(`chaos(slowdown=…, reset=…)`) applied to requests no rule took. A rule can also run a callback after
moto answered and before the client sees the answer (`after=`): the tests change the source there,
"between listing and copy". `strip_headers` removes response headers (e.g. the lock fields HEAD leaves
out for credentials without s3:GetObjectRetention); `strip_request_headers` removes request headers before
forwarding (a server that ignores e.g. x-amz-tagging on one call; moto does not check signatures). Counts of what was served are in `counts`;
every request with the status it was answered (None: reset) in `exchanges`, in the order answered; each
request's arrival time and sizes in `seen` (request rates and bandwidth are measured from it).
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "expect"}


@dataclass
class Request:
    """What the proxy saw, and a best guess at the S3 operation (path-style addressing)."""

    method: str
    target: str  # path and query, as sent
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    @property
    def bucket(self) -> str:
        return unquote(self.path.lstrip("/").split("/", 1)[0])

    @property
    def key(self) -> str | None:
        parts = self.path.lstrip("/").split("/", 1)
        return unquote(parts[1]) if len(parts) > 1 and parts[1] else None

    @property
    def operation(self) -> str:
        q, method, copy = self.query, self.method, "x-amz-copy-source" in self.headers
        if self.key is None:
            if method == "GET" and q.get("list-type") == ["2"]:
                return "ListObjectsV2"
            if method == "GET" and "object-lock" in q:
                return "GetObjectLockConfiguration"
            return {"HEAD": "HeadBucket", "PUT": "CreateBucket"}.get(method, f"{method} bucket")
        if method == "POST" and "uploads" in q:
            return "CreateMultipartUpload"
        if method == "POST" and "uploadId" in q:
            return "CompleteMultipartUpload"
        if method == "PUT" and "partNumber" in q:
            return "UploadPartCopy" if copy else "UploadPart"
        if method == "DELETE" and "uploadId" in q:
            return "AbortMultipartUpload"
        for name, operation in (("retention", "ObjectRetention"), ("legal-hold", "ObjectLegalHold"), ("tagging", "ObjectTagging")):
            if name in q:
                return ("Get" if method == "GET" else "Put") + operation
        if method == "PUT":
            return "CopyObject" if copy else "PutObject"
        return {"HEAD": "HeadObject", "GET": "GetObject", "DELETE": "DeleteObject"}.get(method, method)


@dataclass
class Seen:
    """One request as it arrived (monotonic time), and how much it carried each way."""

    at: float
    operation: str
    request_bytes: int
    response_bytes: int = 0
    status: int = 0


@dataclass
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class Exchange:
    """One request the proxy saw and the status its client got (None: the connection was reset)."""

    request: Request
    status: int | None


@dataclass
class Rule:
    match: Callable[[Request], bool]
    action: str  # forward, slowdown, reset, reset_after, error, answer, hold
    times: int | None = 1  # None: every matching request
    error: tuple[int, str, str] | None = None  # for action "error": status, code, message
    answer: tuple[int, bytes] | None = None  # for action "answer": status, XML body
    after: Callable[[Request, Response], None] | None = None  # run before relaying moto's answer
    strip_headers: tuple[str, ...] = ()  # response headers to leave out (lower-case prefixes)
    strip_request_headers: tuple[str, ...] = ()  # request headers moto does not see (lower-case prefixes)
    hits: int = 0


def s3_error_body(code: str, message: str, **extra: str) -> bytes:
    """An error document as S3 writes it."""
    fields = "".join(f"<{name}>{value}</{name}>" for name, value in extra.items())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>{fields}"
        f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId><HostId>{uuid.uuid4().hex}</HostId></Error>"
    ).encode()


@dataclass
class FaultProxy:
    upstream_port: int
    seed: int = 6
    counts: Counter = field(default_factory=Counter)
    exchanges: list[Exchange] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)  # every request, in order of arrival
    rules: list[Rule] = field(default_factory=list)
    slowdown_share: float = 0.0
    reset_share: float = 0.0
    held: threading.Event = field(default_factory=threading.Event)  # set when a request is being held
    _release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------ configuration

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def on(self, match: Callable[[Request], bool], action: str = "forward", **options) -> Rule:
        rule = Rule(match=match, action=action, **options)
        with self._lock:
            self.rules.append(rule)
        return rule

    def chaos(self, slowdown: float = 0.0, reset: float = 0.0) -> None:
        """Answer a share of requests with 503 SlowDown, and reset another share (half of them after
        forwarding)."""
        with self._lock:
            self.slowdown_share, self.reset_share = slowdown, reset

    def reset(self) -> None:
        with self._lock:
            self.rules.clear()
            self.counts.clear()
            self.exchanges.clear()
            self.seen.clear()
            self.slowdown_share = self.reset_share = 0.0
            self.held.clear()
            self._release.set()  # let anything still held go
            self._release = threading.Event()

    def release(self) -> None:
        self._release.set()

    # ------------------------------------------------------------ running

    def start(self) -> "FaultProxy":
        self._random = random.Random(self.seed)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, and `Expect: 100-continue` answered

            def handle_any(self) -> None:
                proxy._handle(self)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = handle_any

            def log_message(self, *args) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:
                pass  # a client that went away (a killed worker, a reset): nothing to report

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True, name="fault-proxy").start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def _decide(self, request: Request) -> tuple[str, Rule | None]:
        with self._lock:
            for rule in self.rules:
                if (rule.times is None or rule.hits < rule.times) and rule.match(request):
                    rule.hits += 1
                    return rule.action, rule
            draw = self._random.random()
            if draw < self.slowdown_share:
                return "slowdown", None
            if draw < self.slowdown_share + self.reset_share:
                return ("reset" if self._random.random() < 0.5 else "reset_after"), None
        return "forward", None

    def _count(self, *names: str) -> None:
        with self._lock:
            self.counts.update(names)

    def _record(self, request: Request, status: int | None) -> None:
        with self._lock:
            self.exchanges.append(Exchange(request, status))

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        arrived = time.monotonic()
        request = Request(
            method=handler.command,
            target=handler.path,
            headers={name.lower(): value for name, value in handler.headers.items()},
            body=_read_body(handler),
        )
        action, rule = self._decide(request)
        self._count("requests", f"op:{request.operation}", f"action:{action}")
        seen = Seen(arrived, request.operation, len(request.body))
        with self._lock:
            self.seen.append(seen)
        if action == "slowdown":
            self._count("slowdown")
            self._answer(handler, request, 503, "Slow Down", s3_error_body("SlowDown", "Please reduce your request rate."))
            return
        if action == "error":
            status, code, message = rule.error
            self._answer(handler, request, status, http.client.responses.get(status, "Error"), s3_error_body(code, message))
            return
        if action == "answer":
            status, body = rule.answer
            self._answer(handler, request, status, http.client.responses.get(status, "OK"), body)
            return
        if action == "reset":
            self._reset(handler, request)
            return
        if action == "hold":
            self.held.set()
            self._release.wait(timeout=120)
        if rule is not None and rule.strip_request_headers:
            request = Request(
                method=request.method, target=request.target, body=request.body,
                headers={k: v for k, v in request.headers.items() if not k.startswith(rule.strip_request_headers)},
            )
        try:
            response = self._forward(request)
        except OSError:
            self._reset(handler, request)
            return
        if action == "reset_after":
            self._reset(handler, request)
            return
        if rule is not None and rule.after is not None:
            rule.after(request, response)
        seen.response_bytes, seen.status = len(response.body), response.status
        if rule is not None and rule.strip_headers:
            response.headers = [
                (name, value) for name, value in response.headers
                if not name.lower().startswith(rule.strip_headers)
            ]
        self._relay(handler, request, response)

    def _forward(self, request: Request) -> Response:
        connection = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=120)
        try:
            headers = {name: value for name, value in request.headers.items() if name not in HOP_BY_HOP}
            headers["content-length"] = str(len(request.body))
            connection.request(request.method, request.target, body=request.body, headers=headers)
            answer = connection.getresponse()
            body = answer.read()
            return Response(answer.status, answer.reason, answer.getheaders(), body)
        finally:
            connection.close()

    def _relay(self, handler: BaseHTTPRequestHandler, request: Request, response: Response) -> None:
        self._record(request, response.status)
        try:
            handler.send_response_only(response.status, response.reason)
            for name, value in response.headers:
                lower = name.lower()
                if lower in HOP_BY_HOP or (lower == "content-length" and request.method != "HEAD"):
                    continue
                handler.send_header(name, value)
            if request.method != "HEAD":
                handler.send_header("Content-Length", str(len(response.body)))
            handler.end_headers()
            if request.method != "HEAD":
                handler.wfile.write(response.body)
        except OSError:
            handler.close_connection = True

    def _answer(self, handler, request: Request, status: int, reason: str, body: bytes) -> None:
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", uuid.uuid4().hex[:16].upper())]
        if request.method == "HEAD":
            body = b""  # S3 answers HEAD errors with a status and no body
            headers.append(("Content-Length", "0"))
        self._relay(handler, request, Response(status, reason, headers, body))

    def _reset(self, handler: BaseHTTPRequestHandler, request: Request) -> None:
        """Close with RST (SO_LINGER 0): the client sees `Connection reset by peer` and no answer."""
        self._count("reset")
        self._record(request, None)
        handler.close_connection = True
        try:
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.connection.close()
        except OSError:
            pass


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""
