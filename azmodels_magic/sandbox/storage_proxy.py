"""A counting relay in front of Azurite (`serve --count-storage-traffic`): clients are handed its
address as the blob endpoint, and it counts the request-body bytes each request sent to storage
and the response-body bytes storage sent back, so a test or a benchmark can prove what crossed
between a client and storage (e.g. that a server-side copy moved no weight bytes either way) by
measuring, not estimating.

Each message's framing is read as it is relayed (its head, then the Content-Length or the chunks
of its body, passed on as they come): requests on the way up, answers on the way down, each
answer paired with its request in order (HTTP/1.1 answers in order on a connection; an answer to
HEAD, a 1xx, 204 or 304 has no body). Put Block From URL still works
through it: Azurite takes a copy source as its own when the source URL's host is the Host the
request came with, which here is the relay's for both, and then reads the source itself.

What is recorded of each request: method, path (never the query, which holds the SAS), its body
bytes and its answer's body bytes.
"""

from __future__ import annotations

import collections
import contextlib
import socket
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .log import get_logger

log = get_logger("azmodels_magic.sandbox.storage_proxy")

CHUNK = 1 << 20  # relay buffer
MAX_HEAD = 64 * 1024  # a request head longer than this is not HTTP we relay
KEPT_REQUESTS = 100_000  # the newest requests listed one by one (the totals count all)


class _Closed(Exception):
    """The client or Azurite closed the connection."""


@dataclass
class _Totals:
    requests: int = 0
    body_bytes: int = 0
    response_body_bytes: int = 0


class StorageProxy:
    """Listens on `host`:0 and relays each connection to Azurite on 127.0.0.1:`upstream_port`."""

    def __init__(self, host: str, upstream_port: int):
        self.upstream_port = upstream_port
        self._listener = socket.create_server((host, 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._totals = _Totals()
        self._recent: list[dict[str, Any]] = []
        self._stopped = threading.Event()

    def start(self) -> StorageProxy:
        threading.Thread(target=self._accept, name="storage-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()

    def report(self) -> dict[str, Any]:
        """What clients have sent to storage and received from it so far (the body of the
        /.sandbox endpoint)."""
        with self._lock:
            return {
                "requests": self._totals.requests,
                "bodyBytes": self._totals.body_bytes,
                "responseBodyBytes": self._totals.response_body_bytes,
                "value": [dict(entry) for entry in self._recent],
            }

    def _begin(self, method: str, path: str) -> dict[str, Any]:
        """A request's entry, listed as soon as its head is read (its byte counts follow)."""
        entry = {"method": method, "path": path, "bodyBytes": 0, "responseBodyBytes": 0}
        with self._lock:
            self._totals.requests += 1
            self._recent.append(entry)
            del self._recent[:-KEPT_REQUESTS]
        return entry

    def _count(self, entry: dict[str, Any], key: str, count: int) -> None:
        with self._lock:
            entry[key] = count
            if key == "bodyBytes":
                self._totals.body_bytes += count
            else:
                self._totals.response_body_bytes += count

    # -- relaying -------------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # The requests sent up whose answers have not come down yet, oldest first.
        waiting: collections.deque[tuple[str, dict[str, Any]]] = collections.deque()
        down = threading.Thread(
            target=self._answers_down, args=(_Reader(upstream), client, waiting), daemon=True
        )
        down.start()
        try:
            self._requests_up(_Reader(client), upstream, waiting)
        except (_Closed, OSError, ValueError):
            pass
        finally:
            with contextlib.suppress(OSError):
                upstream.shutdown(socket.SHUT_WR)  # Azurite answers what it has, then closes
            down.join()
            client.close()
            upstream.close()

    def _answers_down(
        self,
        reader: _Reader,
        client: socket.socket,
        waiting: collections.deque[tuple[str, dict[str, Any]]],
    ) -> None:
        """Relay answers as they come, counting each one's body against its request."""
        try:
            while True:
                head = reader.read_head()
                if head is None:
                    break
                client.sendall(head)
                start, headers = _parse_head(head)
                status = int([*start.split(" "), "", ""][1] or 0)
                if 100 <= status < 200:
                    continue  # an interim answer (100 Continue): the final one follows
                method, entry = waiting.popleft() if waiting else ("", None)
                if method == "HEAD" or status in (204, 304):
                    received = 0
                elif "chunked" in headers.get("transfer-encoding", "").lower():
                    received = reader.relay_chunked(client)
                elif "content-length" in headers:
                    received = reader.relay(int(headers["content-length"]), client)
                else:
                    received = reader.relay_to_end(client)  # the body ends with the connection
                if entry is not None:
                    self._count(entry, "responseBodyBytes", received)
        except (_Closed, OSError, ValueError):
            pass
        with contextlib.suppress(OSError):
            client.shutdown(socket.SHUT_WR)

    def _requests_up(
        self,
        reader: _Reader,
        upstream: socket.socket,
        waiting: collections.deque[tuple[str, dict[str, Any]]],
    ) -> None:
        """Relay requests one after another (keep-alive), counting each one's body."""
        while True:
            head = reader.read_head()
            if head is None:
                return
            start, headers = _parse_head(head)
            method, target = [*start.split(" "), "", ""][:2]
            entry = self._begin(method, urlsplit(target).path)
            waiting.append((method, entry))  # before it goes up: its answer cannot come sooner
            upstream.sendall(head)
            if "chunked" in headers.get("transfer-encoding", "").lower():
                sent = reader.relay_chunked(upstream)
            else:
                sent = reader.relay(int(headers.get("content-length") or 0), upstream)
            self._count(entry, "bodyBytes", sent)


def _parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    """(the start line, the headers with lower-case names) of a message head."""
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return lines[0], headers


class _Reader:
    """Buffered reads off the client's socket."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> None:
        data = self.sock.recv(CHUNK)
        if not data:
            raise _Closed
        self.buffer += data

    def read_head(self) -> bytes | None:
        """A request's head (request line and headers, with the blank line), None at a clean
        end of the connection."""
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > MAX_HEAD:
                raise ValueError("request head too long")
            try:
                self._fill()
            except _Closed:
                if self.buffer:
                    raise
                return None
        end = self.buffer.index(b"\r\n\r\n") + 4
        head, self.buffer = self.buffer[:end], self.buffer[end:]
        return head

    def relay(self, length: int, upstream: socket.socket) -> int:
        """Pass on exactly `length` bytes; returns how many."""
        left = length
        while left:
            if not self.buffer:
                self._fill()
            part, self.buffer = self.buffer[:left], self.buffer[left:]
            upstream.sendall(part)
            left -= len(part)
        return length

    def relay_to_end(self, upstream: socket.socket) -> int:
        """Pass on everything until the connection closes; returns how many bytes."""
        total = 0
        while True:
            if self.buffer:
                upstream.sendall(self.buffer)
                total += len(self.buffer)
                self.buffer = b""
            try:
                self._fill()
            except _Closed:
                return total

    def _line(self, upstream: socket.socket) -> bytes:
        while b"\r\n" not in self.buffer:
            if len(self.buffer) > MAX_HEAD:
                raise ValueError("chunk line too long")
            self._fill()
        end = self.buffer.index(b"\r\n") + 2
        line, self.buffer = self.buffer[:end], self.buffer[end:]
        upstream.sendall(line)
        return line

    def relay_chunked(self, upstream: socket.socket) -> int:
        """Pass on a chunked body; returns its data bytes (chunk framing not counted)."""
        total = 0
        while True:
            size = int(self._line(upstream).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self._line(upstream) != b"\r\n":  # trailers, then the end
                    pass
                return total
            self.relay(size + 2, upstream)  # the data and its CRLF
            total += size
