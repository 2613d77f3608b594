"""AzModels: the Python API, and the configurable object behind `%config AzModels.<trait>`.

az = AzModels.sandbox()                       # a local stand-in for Azure, no account needed
az = AzModels.connect(project_endpoint=..., subscription_id=..., resource_group=...)
az.list_models(type="base")                   # a DataFrame
az.models.show("gpt-4o")                      # a record that renders as a card
az.run("deployments list --status running")   # any command of the grammar
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from traitlets import observe

from .auth import StaticTokenCredential, TokenCredential, TokenProvider
from .cache import TtlCache
from .config import AzModelsConfig
from .errors import UsageError
from .steps import NextStep, Syntax

if TYPE_CHECKING:
    import pandas as pd

    from .commands import Outcome
    from .connection import Connection
    from .sandbox_launcher import SandboxInfo, SandboxProcess
    from .services.deployments import DeploymentService
    from .services.models import ModelDetails, ModelService
    from .services.uploads import UploadService

_CONNECTION_TRAITS = (
    "project_endpoint",
    "subscription_id",
    "resource_group",
    "account",
    "project",
    "location",
    "tenant_id",
    "arm_endpoint",
    "arm_api_version",
    "foundry_api_version",
    "max_retries",
    "retry_backoff",
    "retry_backoff_max",
    "http_timeout",
    "operation_timeout",
    "poll_interval",
    "metrics_api_version",
    "custom_sku",
    "region_accounts",
)


# What `use_sandbox` sets; back to their defaults (environment or built-in) when leaving it.
_SANDBOX_TRAITS = (
    "project_endpoint",
    "subscription_id",
    "resource_group",
    "account",
    "project",
    "location",
    "arm_endpoint",
)


def python_syntax(step: NextStep) -> str:
    """A next step as Python writes it: `az.run('deploy --name x')`."""
    return f"az.run({step.line()!r})"


def prog_syntax(prog: str) -> Syntax:
    """The syntax of a program name: `%azmodels ...` for the notebook's widgets."""
    return lambda step: f"{prog} {step.line()}"


def _cards_in_ipython() -> None:
    """Used from IPython without the extension, records still show as cards (naming commands
    as Python runs them; the extension, loaded after, has them named as the magic does)."""
    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython

    from .presentation.display import install

    install(get_ipython(), python_syntax)


_cards_in_ipython()


class AzModels(AzModelsConfig):
    """Manage Azure AI Foundry models: the base catalog, custom uploads and deployments."""

    def __init__(self, *, credential: TokenCredential | None = None, **kwargs: Any) -> None:
        self._applying = True  # traits set while constructing need no reaction
        super().__init__(**kwargs)
        self._applying = False
        self._credential = credential
        self._tokens = TokenProvider(credential, tenant_id=self.tenant_id)
        self._connection: Connection | None = None
        self._services: dict[str, Any] = {}
        self._cache = TtlCache(self.cache_seconds)
        self._sandbox_process: SandboxProcess | None = None
        self._sandbox_info: SandboxInfo | None = None
        self._sandbox_token = False  # the sandbox's own token in use (not a caller's credential)
        # The terminal front end sets this: its sandbox must outlive the `azmodels` process.
        self.detach_sandbox = False

    def __repr__(self) -> str:
        where = self.project_endpoint or self.account or "not connected"
        return f"AzModels({where})"

    # -- constructors ---------------------------------------------------------------------------

    @classmethod
    def connect(cls, *, credential: TokenCredential | None = None, **settings: Any) -> AzModels:
        """Connect to a Foundry project; settings not given come from the AZURE_* variables."""
        return cls(credential=credential, **settings)

    @classmethod
    def sandbox(
        cls,
        *,
        data_dir: str | None = None,
        fault_rate: float = 0.0,
        seed: int | None = None,
        provision_seconds: float = 3.0,
        catalog_size: int = 0,
        page_size: int = 100,
        **settings: Any,
    ) -> AzModels:
        """Start a local sandbox (stopped when this object is closed or Python exits)."""
        app = cls(**settings)
        app.start_sandbox(
            data_dir=data_dir,
            fault_rate=fault_rate,
            seed=seed,
            provision_seconds=provision_seconds,
            catalog_size=catalog_size,
            page_size=page_size,
        )
        return app

    # -- connection -----------------------------------------------------------------------------

    @observe(*_CONNECTION_TRAITS)
    def _settings_changed(self, change: dict[str, Any]) -> None:
        if getattr(self, "_applying", True):  # set_connection (or __init__) handles the rest
            return
        name = change["name"]
        if name in _SANDBOX_TRAITS and self._sandbox_info is not None:
            self._leave_sandbox(keep={name})  # e.g. `%config AzModels.project_endpoint = ...`
        elif name == "tenant_id":
            self._tokens = TokenProvider(self._credential, tenant_id=change["new"])
        self._reset()

    def _leave_sandbox(self, *, keep: set[str]) -> None:
        """The sandbox's token and names mean nothing elsewhere: back to the defaults."""
        self._sandbox_info = None
        self._credential = None
        self._applying = True
        try:
            for name in _SANDBOX_TRAITS:
                if name not in keep:
                    setattr(self, name, self.trait_defaults(name))
        finally:
            self._applying = False
        self._tokens = TokenProvider(None, tenant_id=self.tenant_id)

    @observe("debug")
    def _debug_changed(self, change: dict[str, Any]) -> None:
        from .redaction import log_to_stderr

        log_to_stderr(bool(change["new"]))

    @observe("cache_seconds")
    def _cache_changed(self, change: dict[str, Any]) -> None:
        self._cache.seconds = change["new"]

    def _reset(self) -> None:
        if getattr(self, "_connection", None) is not None:
            self._connection.close()
        self._connection = None
        self._services = {}
        if hasattr(self, "_cache"):
            self._cache.invalidate()

    def set_connection(self, *, credential: TokenCredential | None = None, **settings: Any) -> None:
        """Change connection settings for this session (what `%azmodels connect` does)."""
        unknown = sorted(set(settings) - set(self.trait_names(config=True)))
        if unknown:
            raise UsageError(f"Unknown setting(s): {', '.join(unknown)}.")
        if "project_endpoint" in settings:
            from .config import validate_project_endpoint

            settings["project_endpoint"] = validate_project_endpoint(settings["project_endpoint"])
        for name in ("project_endpoint", "arm_endpoint"):
            if settings.get(name):
                from .http.origin import ensure_secure

                # Refused here, before any setting changes, rather than at the first command.
                ensure_secure(settings[name], what=name.replace("_", " "))
        self._applying = True
        try:
            for name, value in settings.items():
                setattr(self, name, value)
        finally:
            self._applying = False
        if credential is None and self._sandbox_info is not None:
            self._leave_sandbox(keep=set(settings))
        else:
            if credential is not None:
                self._credential = credential
            self._tokens = TokenProvider(self._credential, tenant_id=self.tenant_id)
        self._reset()

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            from .connection import Connection

            self._connection = Connection(
                self, self._tokens, sandbox=self._sandbox_info is not None and self._sandbox_token
            )
            if self._sandbox_info is not None:
                self._connection.sandbox_dir = self._sandbox_info.data_dir
        return self._connection

    def connection_summary(self) -> dict[str, str]:
        account, project = self.project_parts()
        credential = type(self._tokens._credential).__name__ if self._credential else "default"
        return {
            "project endpoint": self.project_endpoint,
            "subscription": self.subscription_id,
            "resource group": self.resource_group,
            "account": account,
            "project": project,
            "location": self.location,
            "ARM endpoint": self.arm_endpoint,
            "credential": "sandbox token" if self._sandbox_info else credential,
        }

    # -- sandbox --------------------------------------------------------------------------------

    def start_sandbox(self, **options: Any) -> SandboxInfo:
        """Start a sandbox in the background and connect this object to it."""
        from .sandbox_launcher import SandboxProcess

        self.stop_sandbox()
        options = {k: v for k, v in options.items() if v is not None}
        process = SandboxProcess(detach=self.detach_sandbox, **options)
        info = process.start()
        if not self.detach_sandbox:
            self._sandbox_process = process
        self.use_sandbox(info)
        return info

    def use_sandbox(self, info: SandboxInfo, *, credential: TokenCredential | None = None) -> None:
        """Point every setting at a running sandbox; use its token unless given a credential
        (e.g. one carrying its read-only token)."""
        self._sandbox_info = info
        self._sandbox_token = credential is None
        self.set_connection(
            credential=credential or StaticTokenCredential(info.token),
            project_endpoint=info.project_endpoint,
            subscription_id=info.subscription_id,
            resource_group=info.resource_group,
            account=info.account,
            project=info.project,
            location=info.location,
            arm_endpoint=info.arm_endpoint,
        )

    def attach_sandbox(self, url: str) -> SandboxInfo:
        """Connect to a sandbox already running at `url` (its ARM endpoint)."""
        from .http.origin import ensure_secure
        from .sandbox_launcher import discover

        # Decided as the HTTP library connects, before even the unauthenticated info request.
        ensure_secure(url if "://" in url else f"http://{url}", what="sandbox address")
        info = discover(url)
        self.use_sandbox(info)
        return info

    def stop_sandbox(self) -> bool:
        process, self._sandbox_process = self._sandbox_process, None
        if process is None:
            if not self.detach_sandbox:
                return False
            from .sandbox_launcher import stop_remembered

            if not stop_remembered():
                return False
        else:
            process.stop()
        self._sandbox_info = None
        self._reset()
        return True

    def sandbox_status(self) -> dict[str, str]:
        info = self._sandbox_info
        if info is None:
            return {}
        if self._sandbox_process is not None:
            running = self._sandbox_process.running
        else:
            try:
                os.kill(info.pid, 0)
                running = True
            except OSError:
                running = False
        return {
            "ARM endpoint": info.arm_endpoint,
            "project endpoint": info.project_endpoint,
            "blob endpoint": info.blob_endpoint,
            "data dir": info.data_dir,
            "pid": str(info.pid),
            "started here": "yes" if self._sandbox_process else "no (attached)",
            "running": "yes" if running else "no",
        }

    # -- services -------------------------------------------------------------------------------

    def _service(self, name: str, factory) -> Any:
        if name not in self._services:
            self._services[name] = factory()
        return self._services[name]

    @property
    def models(self) -> ModelService:
        from .services.models import ModelService

        return self._service("models", lambda: ModelService(self.connection, cache=self._cache))

    @property
    def uploads(self) -> UploadService:
        from .services.uploads import UploadService

        return self._service("uploads", lambda: UploadService(self.connection, self.models))

    @property
    def deployments(self) -> DeploymentService:
        from .services.deployments import DeploymentService

        return self._service(
            "deployments",
            lambda: DeploymentService(
                self.connection,
                self.models,
                cache=self._cache,
                custom_sku=self.custom_sku,
                region_accounts=dict(self.region_accounts),
            ),
        )

    def interactive_forms(self) -> bool:
        """True where a form can be shown and used (a Jupyter kernel)."""
        from .presentation.confirm import interaction_mode

        return interaction_mode() == "notebook"

    # -- conveniences ---------------------------------------------------------------------------

    def list_deployments(
        self, *, model: str | None = None, type: str = "all", status: str | None = None
    ) -> pd.DataFrame:
        from .presentation.tables import deployments_frame

        found = self.deployments.list(model=model, type=type, status=status)
        return deployments_frame(found.deployments)

    def list_models(self, *, type: str = "all", query: str | None = None) -> pd.DataFrame:
        from .presentation.tables import models_frame

        return models_frame(self.models.list(type=type, query=query).models, type)

    def show(
        self, name: str, *, type: str | None = None, version: str | None = None
    ) -> ModelDetails:
        return self.models.show(name, type=type, version=version)

    def execute(
        self, line: str | list[str], *, prog: str = "azmodels", syntax: Syntax | None = None
    ) -> Outcome:
        """Parse and run one command; the Outcome has value, message and JSON data. The
        commands it names are written in `syntax` (by default as `prog` would run them)."""
        from . import grammar
        from .commands import execute

        return execute(self, grammar.parse(line, prog=prog), syntax or prog_syntax(prog))

    def run(self, line: str | list[str]) -> Any:
        """Run one command of the grammar and return its value (like the magic does)."""
        outcome = self.execute(line, syntax=python_syntax)
        return outcome.value if outcome.value is not None else outcome.message

    def close(self) -> None:
        self.stop_sandbox()
        self._reset()

    def __enter__(self) -> AzModels:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
