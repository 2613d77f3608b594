"""Retries that know which requests are safe to repeat (azure-core's RetryPolicy rules), against
real loopback servers: a POST that may have been carried out is never sent twice."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from azmodels_magic.auth import StaticTokenCredential, TokenProvider
from azmodels_magic.errors import AzModelsError
from azmodels_magic.http.backoff import Backoff
from azmodels_magic.http.plane import Plane


class RawServer:
    """A loopback HTTP/1.1 server that reads each request whole, counts it by method, then
    answers as told: `drop` closes the connection without a word, else the status given."""

    def __init__(self, status: int | None, headers: dict[str, str] | None = None) -> None:
        self.status, self.headers = status, headers or {}
        self.counts: dict[str, int] = {}
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                length = next(
                    (int(v) for k, _, v in (x.partition(":") for x in lines[1:])
                     if k.strip().lower() == "content-length"), 0)  # fmt: skip
                while len(body) < length:
                    body += conn.recv(65536)
                method = lines[0].split(" ", 1)[0]
                self.counts[method] = self.counts.get(method, 0) + 1
                if self.status is None:
                    conn.shutdown(socket.SHUT_RDWR)  # dropped after the request arrived
                    continue
                payload = b'{"error": {"code": "Busy", "message": "try later"}}'
                extra = "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
                conn.sendall(
                    f"HTTP/1.1 {self.status} X\r\nContent-Type: application/json\r\n{extra}"
                    f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                    + payload
                )

    def close(self) -> None:
        self.sock.close()


@contextmanager
def server(status: int | None, headers: dict[str, str] | None = None) -> Iterator[RawServer]:
    raw = RawServer(status, headers)
    try:
        yield raw
    finally:
        raw.close()


def plane(port: int) -> Plane:
    return Plane(
        name="ARM",
        base_url=f"http://127.0.0.1:{port}",
        scope="https://management.azure.com/.default",
        tokens=TokenProvider(StaticTokenCredential("t")),
        api_version="2025-06-01",
        max_retries=3,
        backoff=Backoff(base=0.001, maximum=0.002),
        sleep=lambda s: None,
    )


def test_a_post_whose_answer_was_lost_is_not_sent_again():
    with server(None) as raw:
        with pytest.raises(AzModelsError) as caught:
            plane(raw.port).request("POST", "/x/createAsync", json={"a": 1})
        assert raw.counts == {"POST": 1}
        assert "may have been carried out" in str(caught.value)


def test_a_get_whose_answer_was_lost_is_retried():
    with server(None) as raw:
        with pytest.raises(AzModelsError):
            plane(raw.port).request("GET", "/x")
        assert raw.counts == {"GET": 4}


def test_a_post_declared_idempotent_is_retried():
    with server(None) as raw:
        with pytest.raises(AzModelsError):
            plane(raw.port).request("POST", "/x/credentials", json={}, idempotent=True)
        assert raw.counts == {"POST": 4}


@pytest.mark.parametrize(
    ("status", "headers", "sent"),
    [
        (500, {}, 4),  # the service says it failed: azure-core retries POST on 500/503/504
        (503, {}, 4),
        (502, {}, 1),  # a gateway's word: the service may have done it
        (408, {}, 1),
        (429, {"Retry-After": "0"}, 4),  # asked to come back: not done
    ],
)
def test_a_post_is_retried_only_on_answers_that_say_it_was_not_done(status, headers, sent):
    with server(status, headers) as raw:
        with pytest.raises(AzModelsError):
            plane(raw.port).request("POST", "/x/createAsync", json={})
        assert raw.counts == {"POST": sent}


def test_a_post_that_never_left_is_retried():
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens: connection refused, the request never left
    sleeps: list[float] = []
    target = plane(port)
    target.clock.sleep = sleeps.append
    with pytest.raises(AzModelsError) as caught:
        target.request("POST", "/x/createAsync", json={})
    # Retried (it never left), but a refusal only briefly: more tries would not change it.
    assert len(sleeps) == 2
    assert "refused the connection (3 tries)" in str(caught.value)


@pytest.mark.parametrize("retries", [0, 2])
def test_blob_storage_honours_the_same_retry_settings(retries):
    from azmodels_magic.clients.storage import stored_files
    from azmodels_magic.http.backoff import TransportSettings

    settings = TransportSettings(
        max_retries=retries, backoff=Backoff(base=0.001, maximum=0.002), timeout=5
    )
    with server(503) as raw:
        url = f"http://127.0.0.1:{raw.port}/devstoreaccount1/weights?sv=2025-01-05&sig=abc"
        with pytest.raises(AzModelsError) as caught:
            stored_files(url, settings)
        assert raw.counts == {"GET": retries + 1}
        assert "sig=abc" not in str(caught.value)
