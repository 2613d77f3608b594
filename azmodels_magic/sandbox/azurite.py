"""Start and stop Azurite, the real Azure Storage emulator, for the sandbox's weights.

Azurite comes from npm (package.json pins it). It runs as a child process that dies with its
parent (PR_SET_PDEATHSIG on Linux), so even a kill -9 of the sandbox leaves no orphan behind.

Its account key is a random one of its own (AZURITE_ACCOUNTS), not the emulator's public key:
Azurite checks no Host header, so a web page whose name rebinds to 127.0.0.1 reaches it, and
with the public key it could list, read and write every container of weights.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

# Azurite's development account name, and its well-known public key, which an Azurite started
# here refuses (it is given a key of its own).
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
INSTALL_HINT = (
    "Azurite (the Azure Storage emulator) is not installed: run `npm install` in the azmodels "
    "folder (its package.json pins azurite), or `npm install -g azurite@3.37.0`, or point "
    "AZMODELS_AZURITE at an azurite-blob executable."
)
_LISTENING = re.compile(r"listens on (http://[\d.]+:(\d+))")


class AzuriteError(RuntimeError):
    """Azurite is missing or did not start."""


def new_account_key() -> str:
    """A random account key, base64 as Azure's are (64 bytes, like the emulator's own)."""
    return base64.b64encode(secrets.token_bytes(64)).decode("ascii")


def find_azurite() -> str:
    """The azurite-blob executable: $AZMODELS_AZURITE, a node_modules/.bin above the working
    directory or this package, then PATH."""
    explicit = os.environ.get("AZMODELS_AZURITE")
    if explicit:
        if Path(explicit).is_file():
            return explicit
        raise AzuriteError(f"AZMODELS_AZURITE={explicit} is missing. {INSTALL_HINT}")
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            candidate = folder / "node_modules" / ".bin" / "azurite-blob"
            if candidate.is_file():
                return str(candidate)
    found = shutil.which("azurite-blob")
    if found:
        return found
    raise AzuriteError(INSTALL_HINT)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def connection_string(blob_endpoint: str, account_key: str) -> str:
    """What a BlobServiceClient is built from to reach Azurite's account with its key."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};"
        f"AccountKey={account_key};BlobEndpoint={blob_endpoint};"
    )


@dataclass
class Azurite:
    """A running azurite-blob process."""

    process: subprocess.Popen
    port: int
    location: Path
    account_key: str = field(repr=False)

    @property
    def blob_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{DEV_ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return connection_string(self.blob_endpoint, self.account_key)

    def stop(self, timeout: float = 10) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    @classmethod
    def start(
        cls,
        location: str | Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        timeout: float = 30,
        account_key: str | None = None,
    ) -> Azurite:
        """Start azurite-blob on `port` (0 picks a free one) and wait until it listens. Its
        account accepts only `account_key` (a new random one when not given)."""
        key = account_key or new_account_key()
        location = Path(location)
        location.mkdir(parents=True, exist_ok=True)
        command = [
            find_azurite(),
            "--blobHost", host,
            "--blobPort", str(port),
            "--location", str(location),
            "--silent",
            "--skipApiVersionCheck",
            "--loose",
            # Offline, and nothing left behind: 3.37's telemetry writes an Azure Monitor folder
            # into the temp folder and sends usage data.
            "--disableTelemetry",
        ]  # fmt: skip
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "AZURITE_ACCOUNTS": f"{DEV_ACCOUNT}:{key}"},
            preexec_fn=_die_with_parent if os.name == "posix" else None,
        )
        seen: list[str] = []
        ready = threading.Event()
        found: dict[str, int] = {}

        def read_output() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                if not ready.is_set():
                    seen.append(line.rstrip())
                    match = _LISTENING.search(line)
                    if match:
                        found["port"] = int(match.group(2))
                        ready.set()
            ready.set()  # the process ended

        threading.Thread(target=read_output, name="azurite-output", daemon=True).start()
        if not ready.wait(timeout) or "port" not in found:
            process.kill()
            process.wait()
            tail = " | ".join(seen[-5:]) or "no output"
            raise AzuriteError(f"Azurite did not start within {timeout:.0f}s: {tail}")
        return cls(process=process, port=found["port"], location=location, account_key=key)
