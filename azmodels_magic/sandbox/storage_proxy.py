"""A counting relay in front of Azurite (`serve --count-storage-traffic`): clients are handed its
address as the blob endpoint, and it counts the request-body bytes each request sent to storage,
so a test can prove what crossed from a client to storage (e.g. that a server-side copy sent no
weight bytes) by measuring, not estimating.

Each request's framing is read on the way up (its head, then the Content-Length or the chunks
of its body, relayed as they come); answers flow back untouched. Put Block From URL still works
through it: Azurite takes a copy source as its own when the source URL's host is the Host the
request came with, which here is the relay's for both, and then reads the source itself.

What is recorded of each request: method, path (never the query, which holds the SAS) and body
bytes.
"""

from __future__ import annotations

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
        """What clients have sent to storage so far (the body of the /.sandbox endpoint)."""
        with self._lock:
            return {
                "requests": self._totals.requests,
                "bodyBytes": self._totals.body_bytes,
                "value": list(self._recent),
            }

    def _record(self, method: str, path: str, body_bytes: int) -> None:
        with self._lock:
            self._totals.requests += 1
            self._totals.body_bytes += body_bytes
            self._recent.append({"method": method, "path": path, "bodyBytes": body_bytes})
            del self._recent[:-KEPT_REQUESTS]

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
        down = threading.Thread(target=self._pipe, args=(upstream, client), daemon=True)
        down.start()
        try:
            self._requests_up(_Reader(client), upstream)
        except (_Closed, OSError, ValueError):
            pass
        finally:
            with contextlib.suppress(OSError):
                upstream.shutdown(socket.SHUT_WR)  # Azurite answers what it has, then closes
            down.join()
            client.close()
            upstream.close()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        """Answers, as they come."""
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        try:
            while n := source.recv_into(buffer):
                target.sendall(view[:n])
        except OSError:
            pass
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def _requests_up(self, reader: _Reader, upstream: socket.socket) -> None:
        """Relay requests one after another (keep-alive), counting each one's body."""
        while True:
            head = reader.read_head()
            if head is None:
                return
            upstream.sendall(head)
            lines = head.decode("latin-1").split("\r\n")
            method, target = [*lines[0].split(" "), "", ""][:2]
            headers = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            if "chunked" in headers.get("transfer-encoding", "").lower():
                sent = reader.relay_chunked(upstream)
            else:
                sent = reader.relay(int(headers.get("content-length") or 0), upstream)
            self._record(method, urlsplit(target).path, sent)


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
