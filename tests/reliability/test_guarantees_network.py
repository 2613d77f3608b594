"""Tokens stay home, tried adversarially.

- Endpoint URLs that parsers read two ways (`http://10.0.0.1\\@127.0.0.1`: urlsplit says
  127.0.0.1, urllib3 connects to 10.0.0.1) are refused, and no socket is ever opened to a
  non-loopback address: every `connect` of the test process is recorded (the OS boundary).
- A nextLink, Location or Azure-AsyncOperation that leads to another origin never receives the
  token: a tiny local server hands out hostile links to a second server that records requests.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from azmodels_magic import AzModels
from azmodels_magic.auth import StaticTokenCredential, TokenProvider
from azmodels_magic.errors import AzModelsError, ServiceError, ValidationError
from azmodels_magic.http.plane import Plane

TOKEN = "CANARY-BEARER-TOKEN-0123456789"
ARM_SETTINGS = {"subscription_id": "sub", "resource_group": "rg", "account": "acct"}


# -- the OS boundary: every socket connect of this process ---------------------------------------


def _address_host(address) -> str:
    host = address[0] if isinstance(address, tuple) else str(address)
    return str(host).split("%", 1)[0]


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture
def connects(monkeypatch) -> list[str]:
    """Hosts this process connects sockets to; a non-loopback one is refused on the spot (the
    test then fails on the record, without touching the network)."""
    seen: list[str] = []
    real_connect = socket.socket.connect

    def recording_connect(self, address):
        host = _address_host(address)
        seen.append(host)
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(host):
            raise ConnectionRefusedError(f"test: refused a connect to {host}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    monkeypatch.setattr(
        socket.socket,
        "connect_ex",
        lambda self, address: recording_connect(self, address) or 0,
    )
    return seen


def _non_loopback(seen: list[str]) -> list[str]:
    return [h for h in seen if not _loopback(h)]


# -- item 6: endpoint URLs read two ways ---------------------------------------------------------

# Each would send the token in clear to a machine that is not this one (or could, depending on
# which parser one believes). All are refused, with one line, before any connect.
HOSTILE = [
    "http://10.0.0.1\\@127.0.0.1",  # urlsplit: 127.0.0.1; urllib3: 10.0.0.1
    "http://10.0.0.1\\@127.0.0.1:8080/",
    "http://127.0.0.1@10.0.0.1",  # userinfo
    "http://127.0.0.1:80@10.0.0.1/",
    "http://user:secret@127.0.0.1:8080/",  # userinfo, even to loopback
    "http://[::1]@10.0.0.1/",
    "http://127.0.0.1%2f@10.0.0.1/",
    "http://127.0.0.1;@10.0.0.1/",
    "http://127.0.0.1#@10.0.0.1",  # both parsers agree on 127.0.0.1, but the '@' is a trick
    "http://10.0.0.1?@127.0.0.1/",
    "http://127\u30020\u30020\u30021/",  # ideographic full stops
    "http://127\uff0e0.0.1/",  # fullwidth full stop
    "http://0x7f.1/",  # the C resolver reads 127.0.0.1, ipaddress does not
    "http://0x7f000001/",
    "http://127.1/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://%31%32%37.0.0.1/",  # percent-encoded host
    "http://127.0.0.1\t.evil.example/",  # urlsplit drops the tab
    "http://127.0.0.1 /",
    "http://127.0.0.1\n/",
    "http://127.0.0.1:8080\\evil",
    "http://10.0.0.1/",  # plainly not loopback
    "http://[::ffff:10.0.0.1]/",
    "http://evil.example/",  # a name other than localhost could rebind
    "http://localhost.evil.example/",
    "ftp://127.0.0.1/",
    "//127.0.0.1/",
    "https://user@management.example/",
]


@pytest.mark.parametrize("url", HOSTILE)
def test_a_hostile_arm_endpoint_is_refused_and_nothing_connects(url, connects):
    az = AzModels(progress=False, max_retries=0, credential=StaticTokenCredential(TOKEN),
                  arm_endpoint=url, **ARM_SETTINGS)  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        az.execute("deployments list")
    text = str(refused.value)
    assert text.startswith("Refusing ARM endpoint") and "\n" not in text
    assert "secret" not in text and TOKEN not in text
    # Connecting later (`connect --arm-endpoint`) is refused too, and changes nothing.
    with pytest.raises(ValidationError):
        az.set_connection(arm_endpoint=url)
    assert az.arm_endpoint == url  # what the constructor was given, untouched by the refusal
    assert _non_loopback(connects) == [], connects
    az.close()


@pytest.mark.parametrize("url", HOSTILE)
def test_a_hostile_url_never_reaches_the_plane(url, connects):
    with pytest.raises(ValidationError):
        _plane(url)
    assert connects == []


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://10.0.0.1\\@127.0.0.1/api/projects/p",
        "http://127.0.0.1@10.0.0.1/api/projects/p",
        "http://0x7f.1/api/projects/p",
    ],
)
def test_a_hostile_project_endpoint_is_refused_at_connect(endpoint, connects):
    az = AzModels(progress=False, credential=StaticTokenCredential(TOKEN))
    with pytest.raises(ValidationError):
        az.set_connection(project_endpoint=endpoint)
    assert az.project_endpoint == ""
    az.project_endpoint = endpoint  # `%config` goes around connect: the plane still refuses
    with pytest.raises(ValidationError):
        az.execute("list --type custom")
    assert _non_loopback(connects) == []
    az.close()


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[dict]]]:
    """A local server that answers every request with an empty page and records each one."""
    hits: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            hits.append({"path": self.path, "authorization": self.headers.get("Authorization")})
            body = json.dumps({"value": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _answer

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("form", ["127.0.0.1", "localhost", "[::1]"])
def test_loopback_endpoints_work_and_connect_only_to_loopback(form, recorder, connects):
    base, hits = recorder
    port = base.rsplit(":", 1)[1]
    if form == "[::1]" and not socket.has_ipv6:
        pytest.skip("no IPv6")
    endpoint = f"http://{form}:{port}"
    az = AzModels(progress=False, max_retries=0, credential=StaticTokenCredential(TOKEN),
                  arm_endpoint=endpoint, **ARM_SETTINGS)  # fmt: skip
    try:
        outcome = az.execute("deployments list")
    except AzModelsError as exc:  # [::1] when the recorder listens on IPv4 only
        assert form == "[::1]", exc
    else:
        assert outcome.message.startswith("0 deployments")
        assert hits and hits[-1]["authorization"] == f"Bearer {TOKEN}"
    assert connects and _non_loopback(connects) == []
    az.close()


# -- item 7: links from the service that lead elsewhere -----------------------------------------


@pytest.fixture
def hostile_plane(recorder) -> Iterator[dict]:
    """A 'service' whose every answer points somewhere else: the second server (another port,
    another origin) or a non-loopback address; `links` is what to hand out."""
    other, other_hits = recorder
    state: dict = {"link": None, "hits": []}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            state["hits"].append(self.path)
            link = state["link"]
            if self.path.startswith("/redirect"):
                self.send_response(307)
                self.send_header("Location", link)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.command == "GET":
                body = json.dumps({"value": [{"name": "page-1"}], "nextLink": link}).encode()
                self.send_response(200)
            else:  # a long-running operation, accepted, with a monitor elsewhere
                body = json.dumps({"properties": {"provisioningState": "Accepted"}}).encode()
                self.send_response(201)
                self.send_header(state["header"], link)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_PATCH = do_DELETE = _answer

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    state.update(base=f"http://127.0.0.1:{port}", port=port, other=other, other_hits=other_hits)
    yield state
    server.shutdown()
    server.server_close()


def _foreign_links(state: dict) -> list[str]:
    other, port = state["other"], state["port"]
    other_port = other.rsplit(":", 1)[1]
    return [
        f"{other}/page-2",  # another port on the same machine is another origin
        f"//127.0.0.1:{other_port}/page-2",  # scheme-relative
        f"http://127.0.0.1:{port}@127.0.0.1:{other_port}/page-2",
        f"http://127.0.0.1:{port}\\@10.0.0.1/page-2",
        "http://10.0.0.1/page-2",
        f"https://127.0.0.1:{port}/page-2",  # another scheme
        f"http://localhost:{port}/page-2",  # another host name for the same place: refused too
    ]


def _plane(base: str) -> Plane:
    tokens = TokenProvider(StaticTokenCredential(TOKEN))
    return Plane(name="ARM", base_url=base, scope="s", api_version="v", max_retries=0,
                 tokens=tokens, poll_interval=0.01)  # fmt: skip


def test_a_next_link_to_another_origin_never_gets_the_token(hostile_plane, connects):
    state = hostile_plane
    for link in _foreign_links(state):
        state["link"] = link
        plane = _plane(state["base"])
        with pytest.raises(ServiceError) as refused:
            list(plane.iter_items("/things"))
        text = str(refused.value)
        assert "nextLink" in text and "\n" not in text and TOKEN not in text, text
        plane.close()
    assert state["other_hits"] == []  # the other origin heard nothing, token or not
    assert _non_loopback(connects) == []


def test_deployments_list_refuses_a_foreign_next_link(hostile_plane, connects):
    state = hostile_plane
    state["link"] = f"{state['other']}/subscriptions/sub/deployments?page=2"
    az = AzModels(progress=False, max_retries=0, credential=StaticTokenCredential(TOKEN),
                  arm_endpoint=state["base"], **ARM_SETTINGS)  # fmt: skip
    with pytest.raises(ServiceError, match="Refusing nextLink"):
        az.execute("deployments list")
    assert state["other_hits"] == []
    az.close()


@pytest.mark.parametrize("header", ["Azure-AsyncOperation", "Location", "Operation-Location"])
def test_an_operation_monitor_on_another_origin_never_gets_the_token(
    hostile_plane, connects, header
):
    state = hostile_plane
    state["header"] = header
    for link in _foreign_links(state):
        state["link"] = link
        plane = _plane(state["base"])
        accepted = plane.request("PUT", "/deployments/x", json={})
        assert accepted.status_code == 201
        with pytest.raises(ServiceError) as refused:
            plane.operation(accepted, context="Deploy 'x'").wait()
        assert f"Refusing {header}" in str(refused.value) and TOKEN not in str(refused.value)
        plane.close()
    assert state["other_hits"] == []
    assert _non_loopback(connects) == []


def test_a_redirect_to_another_origin_is_not_followed(hostile_plane, connects):
    state = hostile_plane
    for link in _foreign_links(state):
        state["link"] = link
        plane = _plane(state["base"])
        with pytest.raises(ServiceError, match="Refusing redirect") as refused:
            plane.request("GET", "/redirect/x")
        assert TOKEN not in str(refused.value)
        plane.close()
    assert state["other_hits"] == []
    assert _non_loopback(connects) == []


def test_a_same_origin_next_link_is_followed(hostile_plane):
    """The guard is not a wall: a link to the plane's own origin is followed (once: the same
    link again is a loop and ends the list)."""
    state = hostile_plane
    state["link"] = f"{state['base']}/things?page=2"
    plane = _plane(state["base"])
    assert [i["name"] for i in plane.iter_items("/things")] == ["page-1", "page-1"]
    assert state["hits"] == ["/things?api-version=v", "/things?page=2&api-version=v"]
    plane.close()


@pytest.mark.parametrize("url", ["http://10.0.0.1\\@127.0.0.1:9", "127.0.0.1@10.0.0.1:9"])
def test_attaching_to_a_hostile_sandbox_address_opens_no_socket(url, connects):
    az = AzModels(progress=False)
    with pytest.raises(ValidationError, match="Refusing sandbox address"):
        az.execute(["connect", "--sandbox", url])
    assert connects == []
    az.close()


# -- item 8: the sandbox serves this machine only (DNS rebinding, cross-origin pages) ------------


@pytest.fixture(scope="module")
def sandbox_app():
    from azmodels_support import start_app

    app = start_app()
    yield app
    app.close()


def _raw(info, method: str, path: str, headers: dict[str, str]):
    """One request with exactly these headers (http.client: no Host of its own choosing)."""
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(info.arm_endpoint)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


ARM_PATH = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-azmodels-sandbox/"
    "providers/Microsoft.CognitiveServices/accounts/azmodels-sandbox/deployments"
    "?api-version=2025-06-01"
)
FOREIGN_HOSTS = [
    "evil.example",
    "evil.example:{port}",
    "127.0.0.1.evil.example:{port}",
    "localhost.evil.example",
    "10.0.0.1:{port}",
    "[::ffff:10.0.0.1]:{port}",
    "",  # no Host at all
]


@pytest.mark.parametrize("host", FOREIGN_HOSTS)
@pytest.mark.parametrize("path", ["/.sandbox/info", "ARM"])
def test_the_sandbox_refuses_a_foreign_host_header(sandbox_app, host, path):
    info = sandbox_app.sandbox_info
    port = info.arm_endpoint.rsplit(":", 1)[1]
    headers = {"Authorization": f"Bearer {info.token}"}
    if host:
        headers["Host"] = host.format(port=port)
    status, _, body = _raw(info, "GET", ARM_PATH if path == "ARM" else path, headers)
    assert status == 403, body
    assert info.token not in body and "ForeignRequest" in body


def test_two_host_headers_are_refused(sandbox_app):
    import http.client
    from urllib.parse import urlsplit

    info = sandbox_app.sandbox_info
    where = urlsplit(info.arm_endpoint)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    try:
        conn.putrequest("GET", "/.sandbox/info", skip_host=True)
        conn.putheader("Host", where.netloc)
        conn.putheader("Host", "evil.example")
        conn.endheaders()
        response = conn.getresponse()
        assert response.status == 403 and info.token not in response.read().decode()
    finally:
        conn.close()


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "127.0.0.1"])
def test_the_sandbox_serves_loopback_host_headers(sandbox_app, host):
    info = sandbox_app.sandbox_info
    port = info.arm_endpoint.rsplit(":", 1)[1]
    headers = {"Host": host.format(port=port), "Authorization": f"Bearer {info.token}"}
    assert _raw(info, "GET", ARM_PATH, headers)[0] == 200
    assert _raw(info, "GET", "/.sandbox/info", headers)[0] == 200


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://127.0.0.1.evil.example", "null"]
)
def test_a_cross_origin_page_gets_nothing(sandbox_app, origin):
    info = sandbox_app.sandbox_info
    host = info.arm_endpoint.split("://", 1)[1]
    preflight = {
        "Host": host,
        "Origin": origin,
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    for method, path in (("OPTIONS", ARM_PATH), ("OPTIONS", "/.sandbox/info"),
                         ("GET", "/.sandbox/info"), ("GET", ARM_PATH)):  # fmt: skip
        headers = (
            dict(preflight, Authorization=f"Bearer {info.token}") if method == "GET" else preflight
        )
        status, response_headers, body = _raw(info, method, path, headers)
        assert not 200 <= status < 300, (method, path, status)
        assert not [h for h in response_headers if h.lower().startswith("access-control-")]
        assert info.token not in body


def test_a_loopback_page_origin_is_served(sandbox_app):
    """A notebook's own page (http://localhost:8888) is this machine: served."""
    info = sandbox_app.sandbox_info
    host = info.arm_endpoint.split("://", 1)[1]
    headers = {"Host": host, "Origin": "http://localhost:8888"}
    status, response_headers, _ = _raw(info, "GET", "/.sandbox/info", headers)
    assert status == 200
    assert not [h for h in response_headers if h.lower().startswith("access-control-")]


# -- item 15: a 401 from the sandbox says what to do about the sandbox ------------------------


def test_a_stale_sandbox_token_gets_sandbox_advice(sandbox_app):
    import dataclasses

    stale = dataclasses.replace(sandbox_app.sandbox_info, token="token-of-a-previous-start")
    az = AzModels(progress=False, max_retries=0)
    az.use_sandbox(stale)  # e.g. remembered from before the sandbox was restarted
    with pytest.raises(AzModelsError) as refused:
        az.execute("deployments list")
    text = str(refused.value)
    assert type(refused.value).__name__ == "AuthenticationError"
    assert "sandbox" in text and "connect --sandbox" in text and "sandbox start" in text
    assert "az login" not in text and "AZURE_CLIENT_SECRET" not in text
    assert "\n" not in text and "token-of-a-previous-start" not in text
    az.close()
