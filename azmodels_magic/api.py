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
    """Manage Azure AI Foundry models: the base catalog, custom uploads and deployments.

    Its traits are the settings (`%config AzModels.<name>` in a notebook); the services do the
    work (`az.models`, `az.uploads`, `az.deployments`, `az.quota`), each built on first use and
    built again after a setting changes. Errors are typed (`azmodels_magic.errors`) and are also
    the builtin category that fits: a `ValidationError` is a `ValueError`, a `NotFoundError` a
    `LookupError`, an `OperationTimeoutError` a `TimeoutError`. Any call that reaches Azure may
    also raise `AuthenticationError`, `PermissionDeniedError` or `ServiceError`.

    Example:
        >>> az = AzModels.sandbox()                     # or AzModels.connect(...)
        >>> az.list_models(type="base").head()
        >>> az.deployments.get("chat")
        >>> az.close()
    """

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
        """Connect to a Foundry project (nothing is sent until the first call that needs it).

        Args:
            credential: signs the requests in (an azure-identity credential); None: Azure's
                DefaultAzureCredential, made on first use.
            **settings: any settings by name (project_endpoint, subscription_id,
                resource_group, ...); those not given come from the AZURE_* environment
                variables azd writes.

        Returns:
            An AzModels connected with those settings.

        Raises:
            SettingError: (a ValidationError) an unknown setting, or a value of the wrong type.

        Example:
            >>> az = AzModels.connect(
            ...     project_endpoint="https://contoso.services.ai.azure.com/api/projects/chat",
            ...     subscription_id="...", resource_group="rg-chat")
        """
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
        """Start a local sandbox, a stand-in for Azure on loopback, and connect to it; no Azure
        account is needed. It stops when this object is closed or Python exits.

        Args:
            data_dir: where it keeps its state (None: a temporary folder, removed at the end).
            fault_rate: the share of requests it answers with a transient error (0 to 1).
            seed: makes its faults and catalog repeatable.
            provision_seconds: how long a deployment takes to become ready.
            catalog_size: extra base models generated into its catalog.
            page_size: items per page of its lists.
            **settings: any settings by name, as for `connect`.

        Returns:
            An AzModels connected to the new sandbox.

        Raises:
            SettingError: (a ValidationError) an unknown option or setting.
            AzModelsError: the sandbox did not start (the message says why).

        Example:
            >>> az = AzModels.sandbox(provision_seconds=1)
            >>> az.sandbox_info.arm_endpoint
            'http://127.0.0.1:52731'
        """
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
        """Change connection settings for this session (what `%azmodels connect` does). All are
        checked before any changes; settings not given stay, except that leaving a sandbox
        returns its settings to their defaults.

        Args:
            credential: a new credential (None: keep the current one, or, when connected to a
                sandbox, go back to DefaultAzureCredential).
            **settings: settings by name, e.g. project_endpoint, account, location.

        Raises:
            SettingError: (a ValidationError) an unknown setting or a wrong value.
            ValidationError: a project endpoint not of the project's shape, or an endpoint that
                is not https (plain http only on a loopback address).

        Example:
            >>> az.set_connection(account="contoso-eu", location="westeurope")
        """
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
        """What this object is connected to, as `%azmodels connect` shows it.

        Returns:
            label -> value: project endpoint, subscription, resource group, account, project,
            location, ARM endpoint and the kind of credential (never a secret).

        Example:
            >>> az.connection_summary()["account"]
            'contoso'
        """
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
    def credential(self) -> TokenCredential | None:
        """The credential the connection signs in with (None: DefaultAzureCredential)."""
        return self._composition.credential

    @property
    def connection(self) -> Connection:
        """The HTTP clients of the current settings (`connection.arm`, `connection.foundry`),
        built on first use; a changed setting builds new ones."""
        return self._composition.connection

    @property
    def models(self) -> ModelService:
        """The model service: the base catalog and your custom models, e.g.
        `az.models.show("gpt-4o")`."""
        return self._composition.models

    @property
    def uploads(self) -> UploadService:
        """The upload service: weights from disk to a registered custom model, e.g.
        `az.uploads.upload(source="./out", name="my-llama", base_model="...")`."""
        return self._composition.uploads

    @property
    def deployments(self) -> DeploymentService:
        """The deployment service: deploy, list, show, scale and delete deployments, e.g.
        `az.deployments.get("chat")`."""
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
        """The sandbox the settings point at (None: Azure, or not connected): its endpoints,
        names, data folder and process id, and its bearer token (`.token`, never shown in its
        repr) for calling it yourself, e.g. with curl."""
        return self._composition.sandbox

    @property
    def detach_sandbox(self) -> bool:
        """Set by the terminal front end: its sandbox must outlive the `azmodels` process."""
        return self._sandbox_manager.detach

    @detach_sandbox.setter
    def detach_sandbox(self, value: bool) -> None:
        self._sandbox_manager.detach = value

    def start_sandbox(self, **options: Any) -> SandboxInfo:
        """Start a sandbox in the background and connect this object to it (a sandbox started
        here earlier is stopped first).

        Args:
            **options: the sandbox's options, as `AzModels.sandbox` takes them (data_dir,
                fault_rate, seed, provision_seconds, catalog_size, page_size).

        Returns:
            The new sandbox's details (also `az.sandbox_info`).

        Raises:
            AzModelsError: the sandbox did not start (the message says why).

        Example:
            >>> info = az.start_sandbox(provision_seconds=1)
        """
        self.stop_sandbox()
        info = self._sandbox_manager.start(**options)
        self.use_sandbox(info)
        return info

    def use_sandbox(self, info: SandboxInfo, *, credential: TokenCredential | None = None) -> None:
        """Point every setting at a running sandbox.

        Args:
            info: the sandbox (another object's `sandbox_info`, or what `start_sandbox` or
                `attach_sandbox` returned).
            credential: signs in instead of the sandbox's own token (e.g. one carrying its
                read-only `reader_token`).

        Example:
            >>> other = AzModels()
            >>> other.use_sandbox(az.sandbox_info)
        """
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
        """Connect to a sandbox already running, e.g. one the `azmodels` terminal command
        started (it keeps running when this object closes).

        Args:
            url: its ARM endpoint, e.g. http://127.0.0.1:52731.

        Returns:
            The sandbox's details, as it reports them.

        Raises:
            ValidationError: `url` is not a loopback http address or an https one.
            AzModelsError: no sandbox answers there.

        Example:
            >>> az.attach_sandbox("http://127.0.0.1:52731")
        """
        info = self._sandbox_manager.attach(url)
        self.use_sandbox(info)
        return info

    def stop_sandbox(self) -> bool:
        """Stop the sandbox this object started (one attached to is left running).

        Returns:
            True if one was stopped, False if this object started none.

        Example:
            >>> az.stop_sandbox()
            True
        """
        if not self._sandbox_manager.stop():
            return False
        self._composition.sandbox = None
        self._reset()
        return True

    def sandbox_status(self) -> dict[str, str]:
        """How the sandbox is doing, as `%azmodels sandbox status` shows it.

        Returns:
            label -> value: its endpoints, data dir, pid, whether it was started here and
            whether it is running; {} when not connected to a sandbox.

        Example:
            >>> az.sandbox_status()["running"]
            'yes'
        """
        info = self._composition.sandbox
        return {} if info is None else self._sandbox_manager.status(info)

    # -- what the front ends show ---------------------------------------------------------------

    @rules.checked
    def list_deployments(
        self, *, model: str | None = None, type: str = "all", status: str | None = None
    ) -> pd.DataFrame:
        """The deployments of the connected account, as a table.

        Args:
            model: only those of this model.
            type: "base", "custom" or "all".
            status: only those "running", "stopped", "failed" or "creating".

        Returns:
            A DataFrame, one row per deployment (the columns `deployments list` shows).

        Raises:
            ValidationError: a type or status that is not one of those.

        Example:
            >>> az.list_deployments(status="running")
        """
        found = self.deployments.list(model=model, type=type, status=status)
        return deployments_frame(found.deployments)

    @rules.checked
    def list_models(self, *, type: str = "all", query: str | None = None) -> pd.DataFrame:
        """The base catalog and your custom models, as a table.

        Args:
            type: "base", "custom" or "all".
            query: only models whose name, publisher or format matches this pattern
                (a substring, or a glob such as "llama*").

        Returns:
            A DataFrame, one row per model (the columns `list` shows).

        Raises:
            ValidationError: a type that is not one of those.

        Example:
            >>> az.list_models(type="base", query="gpt*")
        """
        return models_frame(self.models.list(type=type, query=query).models, type)

    @rules.checked
    def show(
        self, name: str, *, type: str | None = None, version: str | None = None
    ) -> ModelDetails:
        """One model in full; the same as `az.models.show`.

        Args:
            name: the model's name (custom models are looked in first, then the catalog).
            type: "base" or "custom", when a name is both.
            version: a version (default: a custom model's newest, a base model's default).

        Returns:
            The model's details: versions, deployments, stored files; a card in a notebook.

        Raises:
            NotFoundError: no such model or version.
            UsageError: the name is both a custom and a base model, and no type was given.

        Example:
            >>> az.show("gpt-4o")
        """
        return self.models.show(name, type=type, version=version)

    @rules.checked
    def execute(self, line: str | list[str], *, front_end: FrontEnd | None = None) -> Outcome:
        """Parse and run one command of the grammar, with all it produced.

        Args:
            line: the command as typed ("deployments list --status running") or as argv.
            front_end: whose syntax the steps in messages are written in and how to ask for
                confirmation (default: a terminal's).

        Returns:
            The Outcome: its value (a DataFrame, a record or None), its message for people,
            its JSON form (`json_data()`) and the -o variable asked for.

        Raises:
            UsageError: the line is not a command of the grammar.
            HelpRequested: the line asked for help; its message is the help text.
            AzModelsError: whatever the command itself raises.

        Example:
            >>> outcome = az.execute("deployments list --format json")
            >>> outcome.json_data()
        """
        front_end = front_end or terminal(asks=asking("input" if is_terminal(sys.stdin) else ""))
        try:
            args = grammar.parse(line, prog=front_end.prog, stores_results=front_end.stores_results)
            return execute(self, args, front_end)
        except AzModelsError as error:
            error.syntax = front_end.write  # its str() names steps as the front end writes them
            raise

    @rules.checked
    def run(self, line: str | list[str]) -> Any:
        """Run one command of the grammar, as `%azmodels` would.

        Args:
            line: the command as typed ("deployments scale --name chat --capacity 2"), or as
                argv.

        Returns:
            Its value (a DataFrame, a record), or its message when it has none; None for
            `az.run('help')` and `az.run('deploy --help')`, which print the help.

        Raises:
            UsageError: the line is not a command of the grammar.
            AzModelsError: whatever the command itself raises; its message names commands as
                `az.run(...)` calls.

        Example:
            >>> az.run("deployments list --status running")
        """
        try:
            outcome = self.execute(line, front_end=python_front_end())
        except HelpRequested as help_text:  # asked for, not a failure: shown, as the magic does
            print(help_text.message)
            return None
        return outcome.value if outcome.value is not None else outcome.message

    def close(self) -> None:
        """Stop the sandbox started here and close the connections (also on leaving a `with`
        block).

        Example:
            >>> with AzModels.sandbox() as az:
            ...     az.list_models()
        """
        self.stop_sandbox()
        self._reset()

    def __enter__(self) -> AzModels:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
