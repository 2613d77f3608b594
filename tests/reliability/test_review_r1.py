"""Reviewer R1's adversarial pass: entry points of the issue-9/11 classes the fixes missed.

Each test fails today and passes once its class is closed:

- Storage URLs the service hands out (the upload slot's and the read credential's SAS URI) get
  no origin check: a plain-http or parser-ambiguous SAS URI sends the SAS to another machine in
  clear (the endpoint guard covers the planes only).
- The sandbox's info route and plain-http storage go through $HTTP_PROXY: the proxy sees the
  sandbox token and every SAS in clear (the planes turn the environment's proxies off).
- Error lines from the service keep C1 controls and bidi overrides (only C0 is escaped).
- The CLI fails as "a bug" on a terminal that cannot encode its table's ellipsis (LANG=C).
- `deployments scale` over quota sends the PATCH: no pre-check, no suggestion.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from reliability_support import make_weights, start_app

from azmodels_magic import AzModels
from azmodels_magic.auth import StaticTokenCredential
from azmodels_magic.errors import AzModelsError

TOKEN = "CANARY-BEARER-TOKEN-R1-0123456789"


@pytest.fixture(scope="module")
def app():
    az = start_app()
    yield az
    az.close()


# -- the OS boundary: every socket connect of this process ---------------------------------------


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture
def connects(monkeypatch) -> list[str]:
    """Hosts this process connects to; a non-loopback connect is refused on the spot."""
    seen: list[str] = []
    real_connect = socket.socket.connect

    def recording_connect(self, address):
        host = str(address[0] if isinstance(address, tuple) else address)
        seen.append(host)
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(host):
            raise Leak(host)  # not an OSError: no client retries it for a minute
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    return seen


class Leak(BaseException):
    """A connect to another machine: stops the test at once (the record is what it checks)."""


# -- a hostile service: the real sandbox behind a proxy that rewrites some answers ---------------


def _serve(handler) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def rewriting(app) -> Iterator[dict]:
    """A 'service' that is the module's sandbox seen through a proxy; `state["rewrite"]` may
    change any answer (method, path, status, headers, body) -> (status, headers, body)."""
    target = app.sandbox_info.arm_endpoint
    session = requests.Session()
    session.trust_env = False
    state: dict = {"rewrite": lambda *answer: answer[2:]}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("host", "content-length")}  # fmt: skip
            answer = session.request(self.command, target + self.path, data=body,
                                     headers=headers, allow_redirects=False)  # fmt: skip
            # The sandbox writes its own address into links: point them at this proxy.
            content = answer.content.replace(target.encode(), base.encode())
            in_headers = {k: v.replace(target, base) for k, v in answer.headers.items()}
            status, out_headers, content = state["rewrite"](
                self.command, self.path, answer.status_code, in_headers, content
            )
            self.send_response(status)
            for key, value in out_headers.items():
                if key.lower() not in ("content-length", "transfer-encoding", "connection",
                                       "content-encoding"):  # fmt: skip
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        def log_message(self, *args) -> None:
            pass

    server, base = _serve(Handler)
    info = app.sandbox_info
    state["info"] = dataclasses.replace(
        info, arm_endpoint=base, project_endpoint=f"{base}/api/projects/{info.project}"
    )
    yield state
    server.shutdown()
    server.server_close()
    session.close()


def _with_sas_uri(route: str, uri: str):
    """A rewrite handing out `uri` (with the real SAS query) as the storage address of `route`."""

    def rewrite(method, path, status, headers, content):
        if route in path and status == 200:
            body = json.loads(content)
            ref = body.get("blobReferenceForConsumption") or body["blobReference"]
            query = ref["credential"]["sasUri"].split("?", 1)[1]
            ref["credential"]["sasUri"] = f"{uri}?{query}"
            ref["blobUri"] = uri
            content = json.dumps(body).encode()
        return status, headers, content

    return rewrite


# Each would take the SAS (the credential to write or read the model's weights) in clear to a
# machine that is not this one, or to a host two URL parsers disagree on.
HOSTILE_SAS_URIS = [
    "http://10.0.0.1/devstoreaccount1/c",
    "http://10.0.0.1\\@127.0.0.1:10000/devstoreaccount1/c",
    "http://127.0.0.1@10.0.0.1/devstoreaccount1/c",
]


def _non_loopback(seen: list[str]) -> list[str]:
    return [h for h in seen if not _loopback(h)]


@pytest.mark.parametrize("uri", HOSTILE_SAS_URIS)
def test_an_upload_slot_sas_uri_to_another_machine_in_clear_is_refused(
    app, rewriting, connects, tmp_path, uri
):
    rewriting["rewrite"] = _with_sas_uri("startPendingUpload", uri)
    az = AzModels(progress=False, max_retries=0, retry_backoff=0.01)
    az.use_sandbox(rewriting["info"])
    source = make_weights(tmp_path)
    refused: BaseException | None = None
    try:
        az.execute(["upload", "--source", str(source), "--name", "sas-victim"])
    except (AzModelsError, Leak) as exc:
        refused = exc
    finally:
        az.close()
    assert _non_loopback(connects) == [], f"the SAS went towards {_non_loopback(connects)}"
    assert isinstance(refused, AzModelsError), "an upload to that address must be refused"
    assert "sig=" not in str(refused) and "nextLink" not in str(refused)


@pytest.mark.parametrize("uri", HOSTILE_SAS_URIS[1:2])
def test_a_read_credential_sas_uri_to_another_machine_in_clear_is_refused(
    app, rewriting, connects, tmp_path, uri
):
    """`delete` reads the weights' credential to remove them: same rule for that SAS."""
    app.uploads.upload(
        base_model="gpt-4o", source=str(make_weights(tmp_path)), name="cred-victim", progress=False
    )
    rewriting["rewrite"] = _with_sas_uri("/credentials", uri)
    az = AzModels(progress=False, max_retries=0, retry_backoff=0.01)
    az.use_sandbox(rewriting["info"])
    try:
        az.execute(["delete", "--name", "cred-victim", "--force"])
    except (AzModelsError, Leak):
        pass  # refusing is right; what matters is where the SAS went
    finally:
        az.close()
    assert _non_loopback(connects) == [], f"the SAS went towards {_non_loopback(connects)}"


# -- plain http never through the environment's proxy --------------------------------------------


@pytest.fixture
def env_proxy(monkeypatch) -> Iterator[list[str]]:
    """$HTTP_PROXY pointing at a recorder (a proxy that logs every request line)."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            seen.append(f"{self.command} {self.path}")
            self.send_response(403)  # not retried: the test stays fast
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_CONNECT = _answer

        def log_message(self, *args) -> None:
            pass

    server, base = _serve(Handler)
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, base)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield seen
    server.shutdown()
    server.server_close()


def test_connect_to_a_sandbox_never_goes_through_a_proxy(app, env_proxy):
    """The info route answers with the sandbox's tokens: a proxy must not see it (and a user
    behind a corporate proxy must still reach the sandbox on this machine)."""
    az = AzModels(progress=False)
    try:
        az.execute(["connect", "--sandbox", app.sandbox_info.arm_endpoint])
    finally:
        az.close()
    assert env_proxy == []


def test_plain_http_storage_never_goes_through_a_proxy(app, env_proxy, tmp_path):
    """Plain http to Azurite: every request line carries the SAS in clear."""
    az = AzModels(progress=False, retry_backoff=0.01)
    az.use_sandbox(app.sandbox_info)
    try:
        az.execute(["upload", "--source", str(make_weights(tmp_path)), "--name", "proxied"])
    except AzModelsError:
        pass  # failing is not the point; where the SAS went is
    finally:
        az.close()
    assert [line.split("?")[0] for line in env_proxy] == []


# -- error lines from the service: no terminal control sequences ---------------------------------

# An 8-bit CSI (clears the screen on terminals that honour C1), a bidi override that reverses
# what follows, an OSC hyperlink.
HOSTILE_MESSAGE = "gone \x9b2J\x9bH \u202etxt.exe \x1b]8;;http://evil.example/\x07click"
C1_OR_BIDI = re.compile("[\x1b\x80-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def hostile_errors() -> Iterator[str]:
    """A service answering every request 404 with hostile text in the error body and headers."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = json.dumps(
                {"error": {"code": "Not\x9b31mFound\u202e", "message": HOSTILE_MESSAGE}}
            ).encode()
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("x-ms-request-id", "req\x9b2Jid")  # latin-1 on the wire
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _answer

        def log_message(self, *args) -> None:
            pass

    server, base = _serve(Handler)
    yield base
    server.shutdown()
    server.server_close()


def test_an_error_line_from_the_service_has_no_control_sequences(hostile_errors):
    az = AzModels(progress=False, max_retries=0, credential=StaticTokenCredential(TOKEN),
                  arm_endpoint=hostile_errors, subscription_id="s", resource_group="rg",
                  account="a")  # fmt: skip
    try:
        with pytest.raises(AzModelsError) as failed:
            az.execute(["deployments", "show", "--name", "chat"])
    finally:
        az.close()
    text = str(failed.value)
    assert "gone" in text and "\n" not in text
    assert C1_OR_BIDI.findall(text) == [], ascii(text)


# -- the CLI on a terminal that is not UTF-8 ------------------------------------------------------


def test_the_cli_prints_tables_on_an_ascii_terminal(app, tmp_path):
    """LANG=C (no UTF-8 coercion), or PYTHONIOENCODING=ascii: a table cut with '…' is still
    printed, not 'a bug in azmodels'."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    env.update(
        LC_ALL="C", LANG="C", PYTHONCOERCECLOCALE="0", PYTHONUTF8="0",
        PYTHONPATH=str(Path(__file__).resolve().parents[2]), COLUMNS="100",
        AZMODELS_CACHE_DIR=str(tmp_path), AZMODELS_SANDBOX=app.sandbox_info.arm_endpoint,
    )  # fmt: skip
    env.pop("PYTHONIOENCODING", None)
    done = subprocess.run(
        [sys.executable, "-m", "azmodels_magic.cli", "list", "--type", "base"],
        capture_output=True, env=env, timeout=120,
    )  # fmt: skip
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0, stderr
    assert "bug" not in stderr and b"gpt-4o" in done.stdout


# -- quota: a scale over quota is refused before sending -----------------------------------------


@pytest.fixture(scope="module")
def quota_world(tmp_path_factory):
    data = tmp_path_factory.mktemp("r1-quota")
    quota = ["--quota", "eastus:OpenAI.GlobalStandard.gpt-4o=50"]
    az = start_app(sandbox={"data_dir": str(data), "extra_args": quota})
    az.sandbox_log = Path(data) / "sandbox.log"
    yield az
    az.close()


def test_a_scale_over_quota_sends_no_patch_and_says_the_shortfall(quota_world):
    az = quota_world
    az.execute(["deploy", "--name", "gpt-4o", "--deployment-name", "grow", "--capacity", "40"])
    with pytest.raises(AzModelsError) as refused:
        az.execute(["deployments", "scale", "--name", "grow", "--capacity", "60"])
    text = str(refused.value)
    patches = [line for line in az.sandbox_log.read_text().splitlines()
               if re.search(r"PATCH \S+/deployments/grow ", line)]  # fmt: skip
    assert patches == [], "the PATCH was sent although the quota could not cover it"
    assert "10 left of 50" in text, text


# -- the sandbox's storage and DNS rebinding -----------------------------------------------------


def test_the_sandbox_storage_refuses_a_rebinding_host(app, tmp_path):
    """A web page on devstoreaccount1.evil.example whose name rebinds to 127.0.0.1 reaches the
    sandbox's Azurite, and Azurite's account key is public: it must not list (or read) the
    weights. The sandbox's own routes check Host; its storage must too (or use a key of its
    own)."""
    from azure.core.exceptions import HttpResponseError
    from azure.core.pipeline.policies import SansIOHTTPPolicy
    from azure.storage.blob import BlobServiceClient

    from azmodels_magic.sandbox.azurite import DEV_ACCOUNT, DEV_KEY

    app.uploads.upload(
        base_model="gpt-4o", source=str(make_weights(tmp_path)), name="rebound", progress=False
    )
    endpoint = app.sandbox_info.blob_endpoint
    port = endpoint.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1]

    class RebindingHost(SansIOHTTPPolicy):
        def on_request(self, request) -> None:
            request.http_request.headers["Host"] = f"{DEV_ACCOUNT}.evil.example:{port}"

    service = BlobServiceClient(
        endpoint,
        credential={"account_name": DEV_ACCOUNT, "account_key": DEV_KEY},
        per_call_policies=[RebindingHost()],
        retry_total=0,
    )
    try:
        listed = [c.name for c in service.list_containers()]
    except HttpResponseError:
        listed = []
    finally:
        service.close()
    assert listed == [], f"a rebinding page listed {len(listed)} containers of weights"


# -- the quota views' DataFrames: service text without control sequences ------------------------


def test_accounts_and_quota_frames_hold_no_control_sequences(rewriting):
    """`list` frames are cleaned where they are built; the frames of issue 11 (accounts,
    quota, regions, every account's deployments) come from a second frame builder that is not."""
    hostile = "AI\\u001b[2J\\u001b]0;pwned\\u0007Services\\u202e"

    def rewrite(method, path, status, headers, content):
        return status, headers, content.replace(b'"AIServices"', f'"{hostile}"'.encode())

    rewriting["rewrite"] = rewrite
    az = AzModels(progress=False, max_retries=0)
    az.use_sandbox(rewriting["info"])
    try:
        frame = az.execute(["accounts", "list"]).value
    finally:
        az.close()
    assert frame["kind"].str.startswith("AI").all()
    stored = frame.to_json()
    assert C1_OR_BIDI.findall(json.loads(stored)["kind"]["0"]) == [], stored
