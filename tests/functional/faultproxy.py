"""An HTTP proxy in front of a real service that fails chosen requests.

The service stays real; only the requests a test picks fail, the way a
network or an overloaded server would make them fail:

- ``status``: answer this HTTP status without forwarding;
- ``delay``: hold the request this many seconds first (a client with a
  shorter timeout sees a timeout);
- ``drop``: close the connection without answering;
- ``on_hit``: call this first (a test kills the engine here), after the
  request reached the service when ``forward_first`` is set.

A rule matches a method, a path regular expression and, optionally, a
substring of the request body; it fires ``count`` times.

``log`` lists every request's (method, path) as it arrives. ``timed`` lists
a ``Hit`` for each request once its answer (the service's or an injected
status) went back, with when it arrived and when it was answered: a test
checks which calls overlapped, or what happened between two of them.
Requests that got no answer (``drop``, ``forward_first``) are in ``log``
only.
"""

import dataclasses
import http.server
import re
import threading
import time

import requests


@dataclasses.dataclass(frozen=True)
class Hit:
    """One answered request; times are time.monotonic()."""

    method: str
    path: str
    body: bytes
    started: float
    ended: float


@dataclasses.dataclass
class Rule:
    method: str
    path: str
    body: str | None = None
    status: int | None = 500
    delay: float = 0.0
    drop: bool = False
    count: int = 1
    hits: int = 0
    on_hit: object = None
    forward_first: bool = False

    def matches(self, method: str, path: str, body: bytes) -> bool:
        return (
            self.count > 0
            and method == self.method
            and re.search(self.path, path) is not None
            and (self.body is None or self.body.encode() in body)
        )


class _Server(http.server.ThreadingHTTPServer):
    # Benchmarks send a hundred requests at once: the default listen backlog
    # (5) would reset connections.
    request_queue_size = 256
    daemon_threads = True


class FaultProxy:
    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.rules: list[Rule] = []
        self.lock = threading.Lock()
        self.log: list[tuple[str, str]] = []
        self.timed: list[Hit] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                started = time.monotonic()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rule = proxy._take(self.command, self.path, body)
                with proxy.lock:
                    proxy.log.append((self.command, self.path))
                if rule is not None and rule.forward_first:
                    proxy._forward(self, body)
                if rule is not None and rule.on_hit is not None:
                    rule.on_hit()
                if rule is not None and rule.forward_first:
                    self.close_connection = True
                    self.connection.close()
                    return
                if rule is not None:
                    if rule.delay:
                        time.sleep(rule.delay)
                    if rule.drop:
                        self.close_connection = True
                        self.connection.close()
                        return
                    if rule.status:
                        payload = (
                            b'{"error_message": "{\\"faultstring\\": '
                            b'\\"injected by the test proxy\\"}"}'
                        )
                        self.send_response(rule.status)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(payload)))
                        self._closing()
                        self.end_headers()
                        self.wfile.write(payload)
                        proxy._answered(self.command, self.path, body, started)
                        return
                upstream = proxy._forward(self, body)
                self.send_response(upstream.status_code)
                for key, value in upstream.headers.items():
                    if key.lower() not in (
                        "content-length",
                        "transfer-encoding",
                        "connection",
                        "content-encoding",
                    ):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(upstream.content)))
                self._closing()
                self.end_headers()
                self.wfile.write(upstream.content)
                proxy._answered(self.command, self.path, body, started)

            def _closing(self):
                # A client that asked to close (sushy always does) must be
                # told so: HTTP/1.1 keeps the connection open otherwise, and
                # its next request on it would find it closed.
                if self.close_connection:
                    self.send_header("Connection", "close")

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

            def log_message(self, *args):
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _answered(self, method: str, path: str, body: bytes, started: float) -> None:
        hit = Hit(method, path, body, started, time.monotonic())
        with self.lock:
            self.timed.append(hit)

    def hits(self, method: str | None = None, path_re: str | None = None) -> list[Hit]:
        """The answered requests so far, in the order they were answered,
        of ``method`` (any if None) whose path matches ``path_re``
        (re.search; any if None)."""
        with self.lock:
            timed = list(self.timed)
        return [
            hit
            for hit in timed
            if (method is None or hit.method == method)
            and (path_re is None or re.search(path_re, hit.path) is not None)
        ]

    def _forward(self, handler, body: bytes):
        headers = {
            k: v
            for k, v in handler.headers.items()
            if k.lower() not in ("host", "content-length", "connection")
        }
        return requests.request(
            handler.command,
            self.upstream + handler.path,
            data=body,
            headers=headers,
            timeout=120,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def start(self) -> "FaultProxy":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add(self, rule: Rule) -> Rule:
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def _take(self, method: str, path: str, body: bytes) -> Rule | None:
        with self.lock:
            for rule in self.rules:
                if rule.matches(method, path, body):
                    rule.count -= 1
                    rule.hits += 1
                    return rule
        return None
