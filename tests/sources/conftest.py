"""Fixtures of the remote sources' tests: an Azurite of their own, and a small loopback HTTP
server whose routes a test sets (a download site, a redirector, a model hub's few routes)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from azurite_support import Storage

# A route answers (status, headers, body); `request` has method, path, headers.
Route = Callable[["Seen"], tuple[int, dict[str, str], bytes]]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Site:
    """A loopback HTTP server: `routes` maps a path (without its query) to a Route; every request
    is kept in `seen`, and the body bytes sent are counted."""

    url: str
    routes: dict[str, Route] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    body_bytes: int = 0


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storage]:
    server = Storage.start(tmp_path_factory.mktemp("azurite"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def site() -> Iterator[Site]:
    holder: dict[str, Site] = {}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            current = holder["site"]
            seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
            current.seen.append(seen)
            route = current.routes.get(self.path.split("?", 1)[0])
            status, headers, body = route(seen) if route else (404, {}, b"not found")
            self.send_response(status)
            headers = {"Content-Length": str(len(body)), **headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
                current.body_bytes += len(body)

        do_GET = do_HEAD = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["site"] = Site(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder["site"]
    finally:
        server.shutdown()
        server.server_close()


def ranged_file(data: Callable[[], bytes], etag: Callable[[], str]) -> Route:
    """A route serving a file as a download site does: HEAD, Range and If-Match honoured."""

    def route(seen: Seen) -> tuple[int, dict[str, str], bytes]:
        body, tag = data(), etag()
        if "if-match" in seen.headers and seen.headers["if-match"] != tag:
            return 412, {}, b""
        headers = {"ETag": tag, "Accept-Ranges": "bytes"}
        wanted = seen.headers.get("range", "")
        if wanted.startswith("bytes="):
            start, _, end = wanted[6:].partition("-")
            first, last = int(start), min(int(end or len(body) - 1), len(body) - 1)
            headers["Content-Range"] = f"bytes {first}-{last}/{len(body)}"
            return 206, headers, body[first : last + 1]
        if seen.method == "HEAD":
            return 200, {**headers, "Content-Length": str(len(body))}, b""
        return 200, headers, body

    return route


def redirect(target: str) -> Route:
    return lambda seen: (302, {"Location": target}, b"")
