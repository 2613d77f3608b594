"""Registration (createAsync) and its operation: which Location the token may follow (Azure's
operations host is another origin, EVIDENCE.md §1), polling the version instead otherwise, and
the sandbox's operations listener as a token canary.

The services talk to the sandbox; the protocol cases use a tiny local HTTP service that plays the
project plane (a stand-in service over real HTTP, not a mock of our clients)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from azmodels_magic.auth import StaticTokenCredential, TokenProvider
from azmodels_magic.clients.foundry import FoundryClient
from azmodels_magic.errors import OperationFailedError, OperationTimeoutError
from azmodels_magic.http.origin import Origin, may_follow_operation
from azmodels_magic.http.plane import Plane
from azmodels_magic.sample_weights import llama_tensors, write_safetensors
from azmodels_magic.sandbox.protocol import CANARY_PATH

SECRET = "SECRET-TOKEN-registration"
PLANE = Origin("https", "acct.services.ai.azure.com", 443)

# -- which Location the token may follow ----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://eastus.api.azureml.ms/mferp/managementfrontend/subscriptions/s/models/m/versions/1"
        "/createAsync/operations/abc",
        "https://api.azureml.ms/ops/1",
        "https://EastUS2.API.AzureML.ms/ops/1",
        "https://acct.services.ai.azure.com/api/projects/p/operations/1",  # the plane's own
    ],
)
def test_the_token_follows_its_own_origin_and_azure_ml_operations_hosts(url):
    assert may_follow_operation(url, PLANE)


@pytest.mark.parametrize(
    "url",
    [
        "http://eastus.api.azureml.ms/ops/1",  # in clear
        "https://eastus.api.azureml.ms:8443/ops/1",  # another port
        "https://api.azureml.ms.evil.example/ops/1",
        "https://evil.example/api.azureml.ms/ops/1",
        "https://evilapi.azureml.ms/ops/1",  # not a subdomain
        "https://api.azureml.ms@evil.example/ops/1",
        "https://user:pw@eastus.api.azureml.ms/ops/1",
        "https://evil.example\\@eastus.api.azureml.ms/ops/1",
        "https://eastus.api.azureml.ms\t/ops/1",
        "https://eastus.api.azureml.ms./ops/1",
        "https://eastus.api.azureml.ms%2eevil.example/ops/1",
        "https://acct.services.ai.azure.com:444/api/projects/p/operations/1",
        "ftp://eastus.api.azureml.ms/ops/1",
        "",
    ],
)
def test_the_token_does_not_follow_anything_else(url):
    assert not may_follow_operation(url, PLANE)


def test_another_loopback_port_is_another_origin():
    local = Origin("http", "127.0.0.1", 8000)
    assert may_follow_operation("http://127.0.0.1:8000/ops/1", local)
    assert not may_follow_operation("http://127.0.0.1:8001/ops/1", local)
    assert not may_follow_operation("http://localhost:8000/ops/1", local)


# -- the protocol, against a small stand-in service ---------------------------------------------


class _Service(BaseHTTPRequestHandler):
    """createAsync answers 202 with `location`; the operation moves once, then ends `final`;
    the version answers 404 until `appears_after` GETs of it."""

    location = "/ops/1"
    final: dict = {"status": "Succeeded"}
    appears_after = 0
    seen: list[tuple[str, str, str]]  # (method, path, Authorization)

    def log_message(self, *args) -> None:
        pass

    def _json(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> str:
        path = self.path.split("?", 1)[0]
        self.seen.append((self.command, path, self.headers.get("Authorization") or ""))
        return path

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._record()
        self._json(202, {"location": self.location, "operationResult": None},
                   {"Location": self.location})  # fmt: skip

    def do_GET(self) -> None:
        path = self._record()
        if path == "/ops/1":
            self._json(202, {}, {"Location": "/ops/2"})
        elif path == "/ops/2":
            self._json(200, self.final)
        elif path.endswith("/models/m/versions/1"):
            gets = sum(1 for m, p, _ in self.seen if p == path)
            if gets <= self.appears_after:
                self._json(404, {"error": {"code": "NotFound", "message": "no"}})
            else:
                self._json(200, {"name": "m", "version": "1", "provisioningState": "Succeeded"})
        else:
            self._json(404, {"error": {"code": "NotFound", "message": "no"}})


def _serve(**attrs) -> tuple[ThreadingHTTPServer, str, list]:
    seen: list = []
    handler = type("Service", (_Service,), {"seen": seen, **attrs})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}", seen


@pytest.fixture
def servers() -> Iterator[list]:
    started: list[ThreadingHTTPServer] = []
    yield started
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


def _client(base: str, timeout: float = 5.0) -> FoundryClient:
    return FoundryClient(
        Plane(
            name="Foundry project",
            base_url=f"{base}/api/projects/p",
            scope="https://ai.azure.com/.default",
            tokens=TokenProvider(StaticTokenCredential(SECRET)),
            api_version="v1",
            poll_interval=0.01,
            operation_timeout=timeout,
        )
    )


def _start(servers: list, **attrs) -> tuple[str, list]:
    httpd, base, seen = _serve(**attrs)
    servers.append(httpd)
    return base, seen


def test_a_same_origin_location_is_followed_through_its_moves(servers):
    base, seen = _start(servers)
    model = _client(base).register("m", "1", {"blobUri": "x"}, context="Register 'm' version 1")
    assert model.ready and model.name == "m"
    paths = [p for _, p, _ in seen]
    assert paths[:3] == ["/api/projects/p/models/m/versions/1/createAsync", "/ops/1", "/ops/2"]
    assert all(auth == f"Bearer {SECRET}" for _, _, auth in seen)


def test_a_failed_operation_is_a_failure_unless_the_version_turns_up(servers):
    failed = {"status": "Failed", "error": {"code": "BadWeights", "message": "pickles"}}
    base, _ = _start(servers, final=failed, appears_after=10**6)
    with pytest.raises(OperationFailedError, match="ended Failed: pickles"):
        _client(base).register("m", "1", {}, context="Register 'm' version 1")
    # The service said Failed, yet the version is there and ready: it was registered.
    base, _ = _start(servers, final=failed, appears_after=0)
    assert _client(base).register("m", "1", {}, context="Register").ready


def test_a_location_on_another_port_gets_no_token_and_the_version_is_polled(servers):
    other, other_seen = _start(servers)
    base, seen = _start(servers, location=f"{other}/ops/1", appears_after=2)
    model = _client(base).register("m", "1", {}, context="Register 'm' version 1")
    assert model.ready
    assert other_seen == []  # not one request, so not one token
    gets = [p for m, p, _ in seen if m == "GET"]
    assert gets == ["/api/projects/p/models/m/versions/1"] * 3


def test_polling_the_version_is_bounded_by_the_operation_timeout(servers):
    other, other_seen = _start(servers)
    base, _ = _start(servers, location=f"{other}/ops/1", appears_after=10**6)
    with pytest.raises(OperationTimeoutError, match="may still finish"):
        _client(base, timeout=0.2).register("m", "1", {}, context="Register 'm' version 1")
    assert other_seen == []


# -- the sandbox: Location on its operations listener, which hears no token --------------------


def _canary(app) -> list[dict[str, str]]:
    info = app.sandbox_info
    base = info.project_endpoint.split("/api/projects/", 1)[0]
    response = requests.get(base + CANARY_PATH, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["value"]


def test_an_upload_registers_while_the_operation_host_hears_no_token(app, tmp_path: Path):
    source = write_safetensors(tmp_path / "w.safetensors", llama_tensors(hidden_size=16), seed=5)
    model = app.execute(
        f"upload --base-model gpt-4o --source {source} --name canary-model --no-progress"
    ).value.model
    assert model.ready and model.name == "canary-model"
    assert _canary(app) == []
    # The canary does hear what is sent to it: a poll of the Location with the token is recorded.
    info = app.sandbox_info
    created = requests.post(
        f"{info.project_endpoint}/models/canary-model/versions/2/createAsync",
        params={"api-version": "v1"},
        headers={"Authorization": f"Bearer {info.token}"},
        json={"blobUri": model.blob_uri, "weightType": "DraftModel"},
        timeout=10,
    )
    assert created.status_code == 202, created.text
    location = created.headers["Location"]
    assert location.split("/api/")[0] != info.project_endpoint.split("/api/")[0]
    requests.get(location, headers={"Authorization": f"Bearer {info.token}"}, timeout=10)
    heard = _canary(app)
    assert [h["authorization"] for h in heard] == ["sandbox-token"]
    assert info.token not in json.dumps(heard)


# -- the body: both shapes of the base model (EVIDENCE.md §1) ----------------------------------


def test_the_body_names_the_base_model_in_both_shapes_and_the_azd_extras():
    from azmodels_magic.services.uploads import with_registration_fields

    asset = "azureml://registries/azureml-fireworks/models/FW-GPT-OSS-120B/versions/1"
    lora = {"rank": 8, "alpha": 16, "targetModules": ["q_proj"], "dropout": 0.05}
    body = with_registration_fields({}, base_model=asset, lora=lora, publisher="contoso")
    assert body == {
        "baseModel": asset,  # spec and SDK 2.10
        "derivedModelInformation": {"baseModel": asset},  # azd
        "loraConfig": lora,
        "catalogInfo": {"publisherId": "contoso"},  # azd, only with --publisher
    }
    assert with_registration_fields({}, base_model=None, lora=None, publisher=None) == {}
