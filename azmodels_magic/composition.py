"""The composition root: credential, connection, cache and services for the current settings.

`AzModels` (api.py) owns one and drops what it built whenever a setting changes (`reset`); each
piece is built again on first use, from the settings as they are then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .auth import TokenCredential, TokenProvider
from .cache import TtlCache
from .config import AzModelsConfig
from .connection import Connection
from .environment import ACCOUNT_TIMEOUT

if TYPE_CHECKING:
    from .sandbox_launcher import SandboxInfo
    from .services.deployments import DeploymentService
    from .services.models import ModelService
    from .services.quota import QuotaService
    from .services.uploads import UploadService

S = TypeVar("S")


class Composition:
    """Builds, shares and drops the objects that talk to Azure (or to a sandbox)."""

    def __init__(self, settings: AzModelsConfig, credential: TokenCredential | None) -> None:
        self.settings = settings
        self.credential = credential  # None: DefaultAzureCredential, made on first use
        self.tokens = TokenProvider(credential, tenant_id=settings.tenant_id)
        self.cache = TtlCache(settings.cache_seconds)  # lists shared by services and completion
        self.services: dict[str, Any] = {}
        self.sandbox: SandboxInfo | None = None  # the sandbox the settings point at, if any
        self.sandbox_token = False  # the sandbox's own token in use (not a caller's credential)
        self._connection: Connection | None = None

    def use_credential(self, credential: TokenCredential | None) -> None:
        """A new credential (None: the default one), for the tenant the settings name now."""
        self.credential = credential
        self.tokens = TokenProvider(credential, tenant_id=self.settings.tenant_id)

    def reset(self) -> None:
        """Settings changed: close the connection, forget the services and cached lists."""
        if self._connection is not None:
            self._connection.close()
        self._connection = None
        self.services = {}
        self.cache.invalidate()

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            sandbox = self.sandbox
            self._connection = Connection(
                self.settings, self.tokens, sandbox=sandbox is not None and self.sandbox_token
            )
            if sandbox is not None:
                self._connection.sandbox_dir = sandbox.data_dir
        return self._connection

    def _service(self, name: str, build: Callable[[], S]) -> S:
        if name not in self.services:
            self.services[name] = build()
        return self.services[name]

    # The services (and the clients, journal and weights readers below them) are imported on
    # first use: together they take longer to import than all of `%load_ext azmodels_magic`.

    @property
    def models(self) -> ModelService:
        from .services.models import ModelService  # lazy: %load_ext loads this module

        return self._service(
            "models",
            lambda: ModelService(
                self.connection,
                cache=self.cache,
                recover=lambda name: bool(self.uploads.recover(name)),
            ),
        )

    @property
    def uploads(self) -> UploadService:
        from .services.uploads import UploadService  # lazy: %load_ext loads this module

        return self._service("uploads", lambda: UploadService(self.connection, self.models))

    @property
    def quota(self) -> QuotaService:
        from .services.quota import QuotaService  # lazy: %load_ext loads this module

        return self._service(
            "quota",
            lambda: QuotaService(
                self.connection,
                self.models,
                cache=self.cache,
                region_accounts=dict(self.settings.region_accounts),
                account_timeout=ACCOUNT_TIMEOUT.read(),
            ),
        )

    @property
    def deployments(self) -> DeploymentService:
        from .services.deployments import DeploymentService  # lazy: %load_ext loads this module

        return self._service(
            "deployments",
            lambda: DeploymentService(
                self.connection,
                self.models,
                self.quota,
                cache=self.cache,
                custom_sku=self.settings.custom_sku,
            ),
        )
