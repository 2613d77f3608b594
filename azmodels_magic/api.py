"""AzModels: the Python API, and the configurable object behind `%config AzModels.<trait>`.

az = AzModels.sandbox()                       # a local stand-in for Azure, no account needed
az = AzModels.connect(project_endpoint=..., subscription_id=..., resource_group=...)
az.list_models(type="base")                   # a DataFrame
az.models.show("gpt-4o")                      # a record that renders as a card
az.run("deployments list --status running")   # any command of the grammar

The facade is thin: its traits are the settings (`config.AzModelsConfig`); what they connect to
is built by `composition.Composition`; the sandbox process is `sandbox_manager.SandboxManager`'s;
`execute` runs a command of the grammar through `commands`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from traitlets import observe

from . import grammar, rules
from .auth import StaticTokenCredential, TokenCredential
from .commands import Outcome, execute
from .composition import Composition
from .config import AzModelsConfig, validate_project_endpoint
from .connection import Connection
from .environment import asking
from .errors import AzModelsError, HelpRequested
from .http.origin import ensure_secure
from .presentation.display import install
from .presentation.tables import deployments_frame, models_frame
from .redaction import log_to_stderr
from .sandbox_manager import SandboxManager
from .steps import PYTHON, PYTHON_PROG, FrontEnd, is_terminal, terminal

if TYPE_CHECKING:
    import pandas as pd

    from .results.models import ModelDetails
    from .sandbox_launcher import SandboxInfo
    from .services.deployments import DeploymentService
    from .services.models import ModelService
    from .services.quota import QuotaService
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


# The keywords of `AzModels.sandbox` that are not settings (said when one is misspelt).
_SANDBOX_OPTIONS = (
    "data_dir", "fault_rate", "seed", "provision_seconds", "catalog_size", "page_size",
)  # fmt: skip


def _alias(piece: str, name: str) -> property:
    """`name` of one of the facade's pieces, read and set through the facade."""
    return property(
        lambda self: getattr(getattr(self, piece), name),
        lambda self, value: setattr(getattr(self, piece), name, value),
    )


def python_front_end() -> FrontEnd:
    """`AzModels.run`'s front end: steps written as Python (`az.run(...)`), asking as the place
    it runs can (a Jupyter kernel's widgets, a terminal's prompt; a script asks nothing)."""
    return FrontEnd("python", PYTHON_PROG, asks=asking(_how_python_can_ask()))


def _how_python_can_ask() -> str:
    shell = None
    if "IPython" in sys.modules:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
        return "widget"
    return "input" if is_terminal(sys.stdin) else ""


def _cards_in_ipython() -> None:
    """Used from IPython without the extension, records still show as cards (naming commands
    as Python runs them; the extension, loaded after, has them named as the magic does)."""
    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython

    install(get_ipython(), PYTHON.write)


_cards_in_ipython()


class AzModels(AzModelsConfig):
    """Manage Azure AI Foundry models: the base catalog, custom uploads and deployments."""

    def __init__(self, *, credential: TokenCredential | None = None, **kwargs: Any) -> None:
        self._applying = True  # traits set while constructing need no reaction
        # traitlets' own keywords go to it; every other keyword is a setting, checked by name
        # (traitlets would ignore a misspelt one) and by value, one clear line if wrong.
        own = {k: kwargs.pop(k) for k in ("parent", "config") if k in kwargs}
        super().__init__(**own)
        self.apply_settings(kwargs)
        self._applying = False
        self._composition = Composition(self, credential)  # built from the settings just applied
        self._sandbox_manager = SandboxManager()

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
        cls.check_setting_names(settings, also=_SANDBOX_OPTIONS)  # a misspelt option: named
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

    # -- settings -------------------------------------------------------------------------------

    @observe(*_CONNECTION_TRAITS)
    def _settings_changed(self, change: dict[str, Any]) -> None:
        if self._applying:  # set_connection (or __init__) handles the rest
            return
        name = change["name"]
        if name in _SANDBOX_TRAITS and self._composition.sandbox is not None:
            self._leave_sandbox(keep={name})  # e.g. `%config AzModels.project_endpoint = ...`
        elif name == "tenant_id":
            self._composition.use_credential(self._composition.credential)
        self._reset()

    def _leave_sandbox(self, *, keep: set[str]) -> None:
        """The sandbox's token and names mean nothing elsewhere: back to the defaults."""
        self._composition.sandbox = None
        self._applying = True
        try:
            for name in _SANDBOX_TRAITS:
                if name not in keep:
                    setattr(self, name, self.trait_defaults(name))
        finally:
            self._applying = False
        self._composition.use_credential(None)

    @observe("debug")
    def _debug_changed(self, change: dict[str, Any]) -> None:
        log_to_stderr(bool(change["new"]))

    @observe("cache_seconds")
    def _cache_changed(self, change: dict[str, Any]) -> None:
        parts = getattr(self, "_composition", None)
        if parts is not None:  # while constructing, the composition reads the value itself
            parts.cache.seconds = change["new"]

    def _reset(self) -> None:
        self._composition.reset()

    def set_connection(self, *, credential: TokenCredential | None = None, **settings: Any) -> None:
        """Change connection settings for this session (what `%azmodels connect` does)."""
        self.check_settings(settings)  # names, types and ranges, before anything changes
        if settings.get("project_endpoint"):  # "" clears it (an account without a project)
            settings["project_endpoint"] = validate_project_endpoint(settings["project_endpoint"])
        for name in ("project_endpoint", "arm_endpoint"):
            if settings.get(name):
                # Refused here, before any setting changes, rather than at the first command.
                ensure_secure(settings[name], what=name.replace("_", " "))
        self._applying = True
        try:
            self.apply_settings(settings)
        finally:
            self._applying = False
        if credential is None and self._composition.sandbox is not None:
            self._leave_sandbox(keep=set(settings))
        else:
            self._composition.use_credential(
                credential if credential is not None else self._composition.credential
            )
        self._reset()

    def connection_summary(self) -> dict[str, str]:
        account, project = self.project_parts()
        credential = self._composition.credential
        return {
            "project endpoint": self.project_endpoint,
            "subscription": self.subscription_id,
            "resource group": self.resource_group,
            "account": account,
            "project": project,
            "location": self.location,
            "ARM endpoint": self.arm_endpoint,
            "credential": "sandbox token"
            if self._composition.sandbox
            else type(credential).__name__
            if credential
            else "default",
        }

    # -- what the settings connect to (built on first use, dropped when a setting changes) -----

    @property
    def connection(self) -> Connection:
        return self._composition.connection

    @property
    def models(self) -> ModelService:
        return self._composition.models

    @property
    def uploads(self) -> UploadService:
        return self._composition.uploads

    @property
    def deployments(self) -> DeploymentService:
        return self._composition.deployments

    @property
    def quota(self) -> QuotaService:
        """Quota, regional capacity and the subscription's accounts: the service `deploy`
        checks with. E.g. `az.quota.quota()`, `az.quota.regions("gpt-4o")`,
        `az.quota.accounts()`."""
        return self._composition.quota

    # -- sandbox --------------------------------------------------------------------------------

    @property
    def sandbox_info(self) -> SandboxInfo | None:
        """The sandbox the settings point at (None: Azure, or not connected)."""
        return self._composition.sandbox

    @property
    def detach_sandbox(self) -> bool:
        """Set by the terminal front end: its sandbox must outlive the `azmodels` process."""
        return self._sandbox_manager.detach

    @detach_sandbox.setter
    def detach_sandbox(self, value: bool) -> None:
        self._sandbox_manager.detach = value

    def start_sandbox(self, **options: Any) -> SandboxInfo:
        """Start a sandbox in the background and connect this object to it."""
        self.stop_sandbox()
        info = self._sandbox_manager.start(**options)
        self.use_sandbox(info)
        return info

    def use_sandbox(self, info: SandboxInfo, *, credential: TokenCredential | None = None) -> None:
        """Point every setting at a running sandbox; use its token unless given a credential
        (e.g. one carrying its read-only token)."""
        self._composition.sandbox = info
        self._composition.sandbox_token = credential is None
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
        info = self._sandbox_manager.attach(url)
        self.use_sandbox(info)
        return info

    def stop_sandbox(self) -> bool:
        if not self._sandbox_manager.stop():
            return False
        self._composition.sandbox = None
        self._reset()
        return True

    def sandbox_status(self) -> dict[str, str]:
        info = self._composition.sandbox
        return {} if info is None else self._sandbox_manager.status(info)

    # -- what the front ends show ---------------------------------------------------------------

    @rules.checked
    def list_deployments(
        self, *, model: str | None = None, type: str = "all", status: str | None = None
    ) -> pd.DataFrame:
        found = self.deployments.list(model=model, type=type, status=status)
        return deployments_frame(found.deployments)

    @rules.checked
    def list_models(self, *, type: str = "all", query: str | None = None) -> pd.DataFrame:
        return models_frame(self.models.list(type=type, query=query).models, type)

    @rules.checked
    def show(
        self, name: str, *, type: str | None = None, version: str | None = None
    ) -> ModelDetails:
        return self.models.show(name, type=type, version=version)

    @rules.checked
    def execute(self, line: str | list[str], *, front_end: FrontEnd | None = None) -> Outcome:
        """Parse and run one command as typed in `front_end` (by default a terminal's); the
        Outcome has value, message and JSON data, the steps it names in the front end's syntax."""
        front_end = front_end or terminal(asks=asking("input" if is_terminal(sys.stdin) else ""))
        try:
            args = grammar.parse(line, prog=front_end.prog, stores_results=front_end.stores_results)
            return execute(self, args, front_end)
        except AzModelsError as error:
            error.syntax = front_end.write  # its str() names steps as the front end writes them
            raise

    @rules.checked
    def run(self, line: str | list[str]) -> Any:
        """Run one command of the grammar and return its value (like the magic does).
        `az.run('help')` and `az.run('deploy --help')` print the help and return None."""
        try:
            outcome = self.execute(line, front_end=python_front_end())
        except HelpRequested as help_text:  # asked for, not a failure: shown, as the magic does
            print(help_text.message)
            return None
        return outcome.value if outcome.value is not None else outcome.message

    def close(self) -> None:
        self.stop_sandbox()
        self._reset()

    def __enter__(self) -> AzModels:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the pieces' state under the names callers used before the split ----------------------
    # (commands/quota.py reads _credential; the tests read and restore the rest)

    _sandbox_info = _alias("_composition", "sandbox")
    _credential = _alias("_composition", "credential")
    _tokens = _alias("_composition", "tokens")
    _services = _alias("_composition", "services")
    _sandbox_process = _alias("_sandbox_manager", "process")
