"""The plane against a tiny local HTTP server that answers badly: every failure is one line."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from azmodels_support import retries_logged

from azmodels_magic.auth import StaticTokenCredential, TokenProvider
from azmodels_magic.errors import OperationFailedError, ServiceError
from azmodels_magic.http.backoff import Backoff
from azmodels_magic.http.plane import Plane

SECRET = "SECRET-TOKEN-abc123"


class _Handler(BaseHTTPRequestHandler):
    calls = 0
    polls = 0

    def log_message(self, *args) -> None:  # keep pytest output quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str, length: int | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        type(self).calls += 1
        path = self.path.split("?", 1)[0]
        if path == "/html":
            html = f"<html><body>Sign in ({SECRET}) sig={SECRET}</body></html>"
            self._send(200, html.encode(), "text/html")
        elif path == "/list":
            self._send(200, b"[1, 2, 3]", "application/json")
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/redirect")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/truncated-once":
            if type(self).calls == 1:  # promise more than is sent, then hang up
                self._send(200, b'{"value": [', "application/json", length=100)
                self.close_connection = True
            else:
                self._send(200, b'{"value": [{"id": 1}]}', "application/json")
        elif path in ("/done-at-once", "/failed-at-once", "/running"):
            status = {"/done-at-once": "Succeeded", "/failed-at-once": "Failed"}.get(path)
            body = {"status": status or "InProgress", "error": {"code": "Bad", "message": "no"}}
            self.send_response(202)
            self.send_header("Content-Type", "application/json")
            self.send_header("Operation-Location", "/op")
            if path == "/running":
                self.send_header("retry-after-ms", "40")
            data = json.dumps(body).encode()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif path == "/op":
            type(self).polls += 1
            self._send(200, b'{"status": "Succeeded"}', "application/json")
        else:
            self._send(404, b"{}", "application/json")


@pytest.fixture
def server() -> Iterator[str]:
    handler = type("Handler", (_Handler,), {"calls": 0, "polls": 0})
    _Handler.last = handler
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _plane(base_url: str) -> Plane:
    return Plane(
        name="ARM",
        base_url=base_url,
        scope="https://management.azure.com/.default",
        tokens=TokenProvider(StaticTokenCredential(SECRET)),
        api_version="2025-06-01",
        backoff=Backoff(base=0.001, maximum=0.01),
        sleep=lambda s: None,
        max_retries=2,
    )


def _one_line_without_secret(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text
    assert SECRET not in text
    return text


def test_html_instead_of_json_is_one_service_error_line(server):
    plane = _plane(server)
    with pytest.raises(ServiceError) as caught:
        plane.get_json("/html", context="Account a")
    text = _one_line_without_secret(caught.value)
    assert text.startswith("Account a: the service answered with something that is not JSON")
    assert "text/html" in text


def test_json_that_is_not_an_object_is_a_service_error(server):
    plane = _plane(server)
    with pytest.raises(ServiceError, match="not JSON"):
        plane.get_json("/list")
    with pytest.raises(ServiceError, match="not JSON"):
        list(plane.iter_pages("/html", context="Deployments"))


def test_too_many_redirects_is_one_service_error_line(server):
    plane = _plane(server)
    with pytest.raises(ServiceError, match="TooManyRedirects") as caught:
        plane.request("GET", "/redirect", context="Catalog")
    assert _one_line_without_secret(caught.value).startswith("Catalog: the request to 127.0.0.1")


def test_a_body_cut_off_in_transit_is_retried(server):
    plane = _plane(server)
    with retries_logged() as retries:
        assert plane.get_json("/truncated-once") == {"value": [{"id": 1}]}
    assert len(retries) == 1


def test_an_operation_finished_in_its_first_answer_is_not_polled(server):
    plane = _plane(server)
    sleeps: list[float] = []
    plane.clock.sleep = sleeps.append
    states: list[str] = []
    body = plane.operation(plane.request("GET", "/done-at-once")).wait(on_status=states.append)
    assert body["status"] == "Succeeded" and states == ["Succeeded"]
    with pytest.raises(OperationFailedError, match="ended Failed: no"):
        plane.operation(plane.request("GET", "/failed-at-once")).wait()
    assert sleeps == [] and _Handler.last.polls == 0
    # Still running: one wait of what the server asked (retry-after-ms), then the poll.
    assert plane.operation(plane.request("GET", "/running")).wait()["status"] == "Succeeded"
    assert sleeps == [0.04] and _Handler.last.polls == 1
