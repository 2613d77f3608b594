"""What the routes are given: the sandbox application, as the `App` protocol `server.Sandbox`
implements, and its `Settings`. Route modules name `App` (not `server.Sandbox`), so the server
can import them without a circle, not even one made only for annotations."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .catalog import Catalog
from .protocol import SPEC_LOG_ENV
from .routing import Request
from .store import Store


@dataclass
class Settings:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    fault_rate: float = 0.0
    seed: int | None = None
    fault_retry_after_ms: int = 1000
    provision_seconds: float = 3.0
    catalog_size: int = 0
    page_size: int = 100
    quota: dict[str, int] = field(default_factory=dict)
    sas_minutes: float = 60.0
    location: str = "eastus"
    catalog_file: str | None = None
    default_quota: int = 1000
    regions: tuple[str, ...] = ()  # empty: the default regions (see regions.py)
    accounts: tuple[str, ...] = ()  # extra accounts, `[RESOURCE_GROUP/]NAME=REGION`
    latency_ms: float = 0.0  # added to every Azure request, as a real service's time would be
    # A counting relay in front of Azurite (storage_proxy.py): clients are handed its address.
    count_storage_traffic: bool = False
    # Where spec violations are appended (one JSON line each); None: answers are not checked.
    spec_log: str | None = field(default_factory=lambda: os.environ.get(SPEC_LOG_ENV) or None)


class App(Protocol):
    """The application as the routes use it: its settings and state, and the URL builders."""

    settings: Settings
    store: Store
    catalog: Catalog
    storage_key: str  # Azurite's account key: signs the SAS handed out
    keys: tuple[str, str]  # the account's two API keys
    hub_token: str  # opens the hub stand-in's gated repositories
    base_url: str

    @property
    def account_id(self) -> str: ...

    @property
    def project_arm_id(self) -> str: ...

    @property
    def project_endpoint(self) -> str: ...

    @property
    def azurite_endpoint(self) -> str: ...

    def container_url(self, container: str, prefix: str = "") -> str: ...

    def url(self, path: str, **query: Any) -> str: ...

    def operations_url(self, path: str, **query: Any) -> str: ...

    def blob_service(self) -> Any: ...

    def skip_token(self, req: Request) -> int: ...

    def next_link(self, req: Request, offset: int) -> str: ...

    def page(self, req: Request, items: list[Any], total: int, offset: int) -> dict[str, Any]: ...

    def principal_for(self, token: str) -> str | None: ...

    def bearer(self, req: Request) -> str | None: ...
