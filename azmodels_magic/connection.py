"""Connection: the planes and clients for the current settings, built on first use."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from .auth import FOUNDRY_SCOPE, TokenProvider, arm_scope
from .config import AzModelsConfig, validate_project_endpoint
from .errors import SANDBOX_SIGN_IN_HINT, NotConnectedError
from .steps import NextStep

if TYPE_CHECKING:
    from .clients.arm import ArmClient
    from .clients.foundry import FoundryClient
    from .http.backoff import TransportSettings
    from .http.plane import Plane

_HOW = {
    "project_endpoint": ("--project-endpoint", "AZURE_PROJECT_ENDPOINT"),
    "subscription_id": ("--subscription", "AZURE_SUBSCRIPTION_ID"),
    "resource_group": ("--resource-group", "AZURE_RESOURCE_GROUP_NAME"),
    "account": ("--account", "AZURE_ACCOUNT_NAME"),
}


class Connection:
    """Everything that talks to Azure for one set of settings. Rebuilt when settings change."""

    def __init__(
        self, config: AzModelsConfig, tokens: TokenProvider, *, sandbox: bool = False
    ) -> None:
        self.config = config
        self.tokens = tokens
        self.sandbox = sandbox  # connected to the local sandbox: its own sign-in advice
        # A sandbox's data folder: what names its project (its endpoint's port changes with
        # every start). None for Azure.
        self.sandbox_dir: str | None = None

    def __repr__(self) -> str:
        return f"Connection({self.config.project_endpoint or 'no project'})"

    def _require(self, **values: str) -> None:
        missing = [name for name, value in values.items() if not value]
        if not missing:
            return
        connect = NextStep("connect", options=tuple((_HOW[m][0], "...") for m in missing))
        envs = ", ".join(_HOW[m][1] for m in missing)
        raise NotConnectedError(
            f"Not connected: {', '.join(m.replace('_', ' ') for m in missing)} not set. Run "
            f"{{0}} (or set {envs}), or try the local sandbox with {{1}}.",
            steps=[connect, NextStep.of("sandbox start")],
        )

    @cached_property
    def transport(self) -> TransportSettings:
        """Retries, backoff and timeout for every leg: the REST planes and blob storage."""
        from .http.backoff import Backoff, TransportSettings  # lazy: only a request needs it

        c = self.config
        return TransportSettings(
            max_retries=c.max_retries,
            backoff=Backoff(base=c.retry_backoff, maximum=c.retry_backoff_max),
            timeout=c.http_timeout,
        )

    def _plane(self, name: str, base_url: str, scope: str, api_version: str, **kw) -> Plane:
        from .http.plane import Plane  # lazy: requests; %load_ext reaches this module

        c = self.config
        return Plane(
            name=name,
            base_url=base_url,
            scope=scope,
            tokens=self.tokens,
            api_version=api_version,
            max_retries=self.transport.max_retries,
            backoff=self.transport.backoff,
            timeout=self.transport.timeout,
            poll_interval=c.poll_interval,
            operation_timeout=c.operation_timeout,
            auth_hint=SANDBOX_SIGN_IN_HINT if self.sandbox else None,
            **kw,
        )

    @cached_property
    def arm(self) -> ArmClient:
        from .clients.arm import ArmClient  # lazy: requests (through http.plane)

        c = self.config
        account, _ = c.project_parts()
        self._require(
            subscription_id=c.subscription_id, resource_group=c.resource_group, account=account
        )
        plane = self._plane("ARM", c.arm_endpoint, arm_scope(c.arm_endpoint), c.arm_api_version)
        return ArmClient(
            plane,
            subscription_id=c.subscription_id,
            resource_group=c.resource_group,
            account=account,
            location=c.location,
            metrics_api_version=c.metrics_api_version,
        )

    @cached_property
    def foundry(self) -> FoundryClient:
        from .clients.foundry import FoundryClient  # lazy: requests

        c = self.config
        self._require(project_endpoint=c.project_endpoint)
        endpoint = validate_project_endpoint(c.project_endpoint)
        headers = {"foundry-features": "Models=V1Preview"} if c.foundry_api_version == "v1" else {}
        plane = self._plane(
            "Foundry", endpoint, FOUNDRY_SCOPE, c.foundry_api_version, extra_headers=headers
        )
        return FoundryClient(plane)

    @property
    def project_id(self) -> str:
        _, project = self.config.project_parts()
        return self.arm.project_id(project)

    def close(self) -> None:
        for name in ("arm", "foundry"):
            client = self.__dict__.pop(name, None)
            if client is not None:
                client.plane.close()
