"""The sandbox's contract with its launcher, besides Azure's REST surface: how to start it, the
JSON line it prints when ready (also served at INFO_PATH), and where it logs.

Both wings import this module; it imports only the standard library, so the sandbox could ship
as its own distribution with it.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

SERVE_COMMAND = ("-m", "azmodels_magic.sandbox", "serve")  # after the Python interpreter
LOG_NAME = "sandbox.log"  # in the data folder: the server's stderr
INFO_PATH = "/.sandbox/info"  # GET: the ready line again (loopback only, no faults)
# GET on the main listener: what the operations listener (the second loopback port that stands
# for Azure ML's operations host, where createAsync's Location points) was sent, one entry per
# request `{method, path, authorization}`; `authorization` is "none", "sandbox-token" (the
# sandbox's owner or reader token), "other-bearer" or "other": never the header's value.
CANARY_PATH = "/.sandbox/operations-host/requests"
# GET on the main listener of a sandbox started with --count-storage-traffic (404 otherwise):
# what clients sent to storage through the counting relay the blob endpoint then names, and what
# storage answered them, `{requests, bodyBytes, responseBodyBytes, value: [{method, path,
# bodyBytes, responseBodyBytes}]}` (totals since start; body bytes only, heads and chunk framing
# not counted; the path without its query, so no SAS). The sandbox's own storage calls are not
# counted.
STORAGE_TRAFFIC_PATH = "/.sandbox/storage/requests"
HOST = "127.0.0.1"
# Defaults of `serve`, which a launcher passes on unless told otherwise.
PROVISION_SECONDS = 3.0  # how long a deployment stays Creating
PAGE_SIZE = 100  # items per page of a list
LOCATION = "eastus"
# When set (a file path), the sandbox appends one JSON line per request or answer that breaks
# the vendored spec (sandbox/spec_check.py): the tests set it to fail a run that has any.
SPEC_LOG_ENV = "AZMODELS_SANDBOX_SPEC_LOG"


@dataclass(frozen=True)
class SandboxInfo:
    """Where a running sandbox listens: the JSON line it prints. The repr hides the tokens."""

    arm_endpoint: str
    project_endpoint: str
    subscription_id: str
    resource_group: str
    account: str
    project: str
    location: str
    token: str = field(repr=False)
    reader_token: str = field(repr=False)
    blob_endpoint: str
    data_dir: str
    pid: int
    regions: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    # Azurite's account key (the account is azurite.DEV_ACCOUNT): for tools and tests that
    # read the sandbox's storage directly; the client itself only uses the SAS it is given.
    storage_key: str = field(default="", repr=False)
    # The bearer token the hub stand-in (sandbox/hub_routes.py, HF_ENDPOINT=arm_endpoint) takes
    # as a logged-in user's: it opens the gated repositories.
    hub_token: str = field(default="", repr=False)

    @classmethod
    def from_json(cls, line: str) -> SandboxInfo:
        data: dict[str, Any] = json.loads(line)
        names = [f.name for f in fields(cls)]
        required = [f.name for f in fields(cls) if f.default_factory is MISSING]
        missing = [n for n in required if n not in data]
        if missing:
            raise ValueError(f"the sandbox line lacks {', '.join(missing)}")
        return cls(**{n: data[n] for n in names if n in data})

    def to_dict(self) -> dict[str, Any]:
        """The ready line's fields (tokens included: it goes only to the launcher's pipe)."""
        return asdict(self)
