"""Issue 17, round two, the sandbox's input limits: authentication before the body, a cap on
its size, a timeout on a short one, deep JSON and a non-JSON content type answered as ARM does.
Raw sockets against a sandbox process of this module's own (its memory is measured)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from azmodels_magic.sandbox.protocol import SandboxInfo
from azmodels_magic.sandbox_launcher import SandboxProcess

ARM_VERSION = "2025-06-01"


@pytest.fixture(scope="module")
def info() -> Iterator[SandboxInfo]:
    process = SandboxProcess(provision_seconds=0.5)
    process.start(timeout=60)
    try:
        assert process.info is not None
        yield process.info
    finally:
        process.stop()


def deployment_path(info: SandboxInfo, name: str = "limits") -> str:
    return (
        f"/subscriptions/{info.subscription_id}/resourceGroups/{info.resource_group}/providers/"
        f"Microsoft.CognitiveServices/accounts/{info.account}/deployments/{name}"
        f"?api-version={ARM_VERSION}"
    )


def connect(info: SandboxInfo, timeout: float = 20) -> socket.socket:
    url = urlsplit(info.arm_endpoint)
    return socket.create_connection((url.hostname, url.port), timeout=timeout)


def head(info: SandboxInfo, length: int, *, token: bool, content_type: str = "application/json"):
    lines = [
        f"PUT {deployment_path(info)} HTTP/1.1",
        f"Host: {urlsplit(info.arm_endpoint).netloc}",
        f"Content-Type: {content_type}",
        f"Content-Length: {length}",
    ]
    if token:
        lines.append(f"Authorization: Bearer {info.token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer(sock: socket.socket) -> tuple[int, dict]:
    """The status and JSON body of the one response on `sock` (the server closes after it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    top, _, rest = data.partition(b"\r\n\r\n")
    status = int(top.split(b" ", 2)[1])
    length = next(
        int(line.split(b":", 1)[1])
        for line in top.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, json.loads(rest[:length]) if length else {}


def peak_rss_kib(pid: int) -> int:
    status = open(f"/proc/{pid}/status").read()  # noqa: SIM115 - one read of a proc file
    return int(status.split("VmHWM:")[1].split()[0])


def test_an_unauthenticated_body_is_not_read(info):
    """Its sender streams 200 MB: the sandbox answers 401 from the headers and its peak memory
    does not grow by what was sent (it grew by all of it: the body was read before the token)."""
    size = 200 * 1024 * 1024
    before = peak_rss_kib(info.pid)
    chunk = b"x" * (1024 * 1024)
    with connect(info) as sock:
        sock.sendall(head(info, size, token=False))
        sent = 0
        try:
            while sent < size:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass  # refused mid-body: the server answered and closed, as it should
        status, body = answer(sock)
    grown_mib = (peak_rss_kib(info.pid) - before) / 1024
    assert status == 401, body
    assert body["error"]["code"] == "AuthenticationFailed"
    assert grown_mib < 50, f"the sandbox's peak memory grew by {grown_mib:.0f} MiB"


def test_an_inference_call_without_a_key_is_refused_before_its_body(info):
    """The inference plane checks its api-key from the headers too: 401, not the 413 (or the
    read) its body would get."""
    url = urlsplit(info.arm_endpoint)
    request = (
        f"POST /openai/deployments/any/chat/completions?api-version=2024-10-21 HTTP/1.1\r\n"
        f"Host: {url.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {100 * 1024 * 1024}\r\n\r\n"
    ).encode()
    with connect(info, timeout=10) as sock:
        sock.sendall(request + b"{" + b" " * 65535)
        status, body = answer(sock)
    assert status == 401, body


def test_a_huge_body_is_refused_413_before_it_is_sent(info):
    """An owner's 400 MB PUT: 413 RequestEntityTooLarge from its Content-Length, while the
    client has sent only its first 64 KiB (the sandbox used to wait for all of it)."""
    with connect(info, timeout=10) as sock:
        sock.sendall(head(info, 400 * 1024 * 1024, token=True) + b"{" + b" " * 65535)
        started = time.monotonic()
        status, body = answer(sock)
    assert status == 413, body
    assert body["error"]["code"] == "RequestEntityTooLarge"
    assert "8 MiB" in body["error"]["message"]
    assert time.monotonic() - started < 5


def test_a_short_body_is_answered_within_seconds(info):
    """Content-Length 1000, 10 bytes sent, then silence: an answer (400/408) within seconds and
    the connection closed, not a thread held for ever."""
    with connect(info, timeout=30) as sock:
        sock.sendall(head(info, 1000, token=True) + b'{"sku": {"')
        started = time.monotonic()
        try:
            status, body = answer(sock)
        except TimeoutError:
            pytest.fail("no answer within 30 s to a body that never came")
        took = time.monotonic() - started
        assert sock.recv(1) == b""  # closed: the rest of a short body is no next request
    assert status in (400, 408), body
    assert body["error"]["code"] == "RequestTimeout"
    assert took < 15


def test_deeply_nested_json_is_400_not_500(info, spec_log):
    bomb = b'{"properties": ' * 50_000 + b"1" + b"}" * 50_000
    with spec_log.expected(), connect(info) as sock:
        sock.sendall(head(info, len(bomb), token=True) + bomb)
        status, body = answer(sock)
    assert status == 400, body
    assert body["error"]["code"] == "InvalidRequestContent"
    assert "nested" in body["error"]["message"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_json_route_refuses_another_content_type_415(info, spec_log, content_type):
    payload = json.dumps(
        {"sku": {"name": "GlobalStandard", "capacity": 1},
         "properties": {"model": {"format": "OpenAI", "name": "gpt-4o-mini", "version": "1"}}}
    ).encode()  # fmt: skip
    request = head(info, len(payload), token=True, content_type=content_type or "")
    if content_type is None:
        request = request.replace(b"Content-Type: \r\n", b"")
    with spec_log.expected(), connect(info) as sock:
        sock.sendall(request + payload)
        status, body = answer(sock)
    assert status == 415, body
    assert body["error"]["code"] == "UnsupportedMediaType"
    assert f"'{content_type}'" in body["error"]["message"] if content_type else True


# -- slow failure: a full disk under the cache folder ---------------------------------------------


@pytest.fixture
def small_disk(request, tmp_path) -> Iterator[Path]:
    """A small tmpfs (a real ENOSPC, no fault injection; 64 KiB unless parametrized with
    another size); skipped where mounting is refused."""
    size = getattr(request, "param", "64k")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> None:
    """Write to `disk` until it is full."""
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    with contextlib.suppress(OSError):
        while True:
            os.write(fd, b"\0" * 1024)
    os.close(fd)


@pytest.mark.parametrize("free_kib", [4, 8])
def test_a_full_cache_disk_fails_fast_naming_the_folder(small_disk, tmp_path, free_kib):
    """The journal's disk fills during the upload: one line naming the cache folder and the
    reason, at once (it was "OSError ... This is a bug", with no folder named)."""
    from azmodels_support import start_app
    from reliability_support import make_weights

    filler = small_disk / "filler"
    fill(small_disk)  # then free what the case leaves
    os.truncate(filler, max(filler.stat().st_size - free_kib * 1024, 0))
    source = tmp_path / "src"
    source.mkdir()
    make_weights(source)
    cache = small_disk / "cache"
    app = start_app()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "AZMODELS_"))}
        env.update(AZMODELS_SANDBOX=app.sandbox_info.arm_endpoint, AZMODELS_CACHE_DIR=str(cache))
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "azmodels_magic.cli", "upload", "--base-model", "gpt-4o",
             "--source", str(source), "--name", f"full-disk-{free_kib}"],
            capture_output=True, text=True, env=env, timeout=150,
        )  # fmt: skip
        took = time.monotonic() - started
    finally:
        app.close()
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 1, done.stderr
    assert len(errors) == 1, done.stderr
    assert "This is a bug" not in done.stderr and "Traceback" not in done.stderr
    assert str(cache) in errors[0] and "No space left on device" in errors[0], errors[0]
    assert took < 15, f"the full disk took {took:.0f} s to report"


@pytest.mark.parametrize("small_disk", ["64m"], indirect=True)
def test_a_full_sandbox_disk_fails_fast_naming_its_folder(small_disk):
    """The sandbox's database cannot grow: 507 naming its data folder, which the client does not
    retry (a bare 500 was retried with backoff for minutes before anything was said)."""
    from azmodels_support import start_app

    from azmodels_magic.errors import AzModelsError

    data = small_disk / "sandbox"
    app = start_app(sandbox={"data_dir": str(data)}, max_retries=4)
    try:
        fill(small_disk)  # the sandbox is up: now its disk is full
        started = time.monotonic()
        with pytest.raises(AzModelsError) as failed:
            app.deployments.deploy(model="gpt-4o", deployment_name="no-room", capacity=1)
        took = time.monotonic() - started
    finally:
        app.close()
    message = str(failed.value)
    assert "\n" not in message
    assert str(data) in message and "disk is full" in message, message
    assert took < 5, f"the full disk took {took:.0f} s to report"
