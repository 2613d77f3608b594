"""Settings, as a traitlets `Configurable` so that `%config AzModels.<trait> = value` works.

Precedence, highest first:
1. what the session set: the `connect` command, `AzModels.connect(...)`, keyword arguments, or
   `%config AzModels.<trait> = ...` (these all set the trait; the latest one wins);
2. the azd environment variables (AZURE_PROJECT_ENDPOINT, AZURE_SUBSCRIPTION_ID, ...), read when
   a setting is first used and not set by (1);
3. the built-in defaults below.
"""

from __future__ import annotations

import ipaddress
import os
import re
from typing import Any
from urllib.parse import urlsplit

from traitlets import Bool, Dict, Float, Int, TraitError, Undefined, Unicode, validate
from traitlets.config import Configurable

from .errors import ValidationError, one_line
from .wording import did_you_mean

ARM_API_VERSION = "2025-06-01"
FOUNDRY_API_VERSION = "2025-11-15-preview"
METRICS_API_VERSION = "2024-02-01"
PUBLIC_ARM_ENDPOINT = "https://management.azure.com"
_PROJECT_PATH = re.compile(r"^/api/projects/(?P<project>[^/]+)/?\Z")
_FOUNDRY_HOST = re.compile(r"^(?P<account>[^.]+)\.services\.ai\.azure\.com\Z")


def is_loopback(host: str | None) -> bool:
    """`localhost` or a loopback address: where plain http may go (the sandbox), and what one
    project is wherever its port (`journal.project_identity`). The one loopback check."""
    if not host:
        return False
    return host.lower() == "localhost" or is_loopback_address(host)


def is_loopback_address(host: str | None) -> bool:
    """A loopback IP address written as one (`127.0.0.1`, `::1`, `[::1]`); never a name, which
    could resolve elsewhere by the time a request connects (`http.origin` resolves `localhost`
    itself)."""
    try:
        return ipaddress.ip_address((host or "").strip("[]")).is_loopback
    except ValueError:
        return False


class EnvUnicode(Unicode):
    """A string trait whose default is read from an environment variable on first use."""

    def __init__(self, env: str, fallback: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.env, self.fallback = env, fallback
        self.default_value = Undefined  # makes traitlets call make_dynamic_default

    def make_dynamic_default(self) -> str:
        return os.environ.get(self.env, "") or self.fallback

    def default_value_repr(self) -> str:
        return f"${self.env} or {self.fallback!r}"


class SettingError(ValidationError, TraitError):
    """A setting refused: a ValidationError to the Python API, a TraitError to traitlets (so
    `%config AzModels.x = ...` reports it as it reports its own)."""


# Zero or less would never wait (every request times out at once); negatives make no sense.
_POSITIVE = ("http_timeout", "operation_timeout")
_NOT_NEGATIVE = ("max_retries", "retry_backoff", "retry_backoff_max", "poll_interval",
                 "cache_seconds")  # fmt: skip


def _shown(value: object) -> str:
    text = one_line(repr(value))
    return text if len(text) <= 80 else f"{text[:79]}… ({len(text):,} characters)"


def _info(trait: Any) -> str:
    return trait.info().replace("a unicode string", "text")


class AzModelsConfig(Configurable):
    """Settings of azmodels. The facade `AzModels` subclasses this: `%config AzModels.x` works."""

    project_endpoint = EnvUnicode(
        "AZURE_PROJECT_ENDPOINT",
        help="Foundry project endpoint, https://{account}.services.ai.azure.com/api/projects/{project}.",
    ).tag(config=True)
    subscription_id = EnvUnicode("AZURE_SUBSCRIPTION_ID", help="Azure subscription id.").tag(
        config=True
    )
    resource_group = EnvUnicode(
        "AZURE_RESOURCE_GROUP_NAME", help="Resource group of the Foundry account."
    ).tag(config=True)
    account = EnvUnicode(
        "AZURE_ACCOUNT_NAME",
        help="Foundry (Cognitive Services) account; derived from the project endpoint if unset.",
    ).tag(config=True)
    project = EnvUnicode(
        "AZURE_PROJECT_NAME",
        help="Foundry project; derived from the project endpoint if unset.",
    ).tag(config=True)
    location = EnvUnicode("AZURE_LOCATION", help="Azure region of the account, e.g. eastus.").tag(
        config=True
    )
    tenant_id = EnvUnicode("AZURE_TENANT_ID", help="Microsoft Entra tenant to sign in to.").tag(
        config=True
    )
    arm_endpoint = EnvUnicode(
        "AZURE_RESOURCE_MANAGER_ENDPOINT",
        PUBLIC_ARM_ENDPOINT,
        help="Azure Resource Manager endpoint (differs in sovereign clouds).",
    ).tag(config=True)
    arm_api_version = Unicode(ARM_API_VERSION, help="api-version for ARM routes.").tag(config=True)
    foundry_api_version = Unicode(
        FOUNDRY_API_VERSION, help="api-version for Foundry project routes."
    ).tag(config=True)
    metrics_api_version = Unicode(
        METRICS_API_VERSION, help="api-version for Azure Monitor metrics."
    ).tag(config=True)
    debug = Bool(False, help="Show tracebacks and log HTTP traffic (redacted).").tag(config=True)
    progress = Bool(True, help="Show progress bars for uploads and long operations.").tag(
        config=True
    )
    max_retries = Int(6, help="Retries for throttled, failed or dropped requests.").tag(config=True)
    retry_backoff = Float(0.5, help="First retry delay in seconds (doubles, with jitter).").tag(
        config=True
    )
    retry_backoff_max = Float(30.0, help="Longest delay between retries, in seconds.").tag(
        config=True
    )
    http_timeout = Float(60.0, help="Seconds to wait for a response to one request.").tag(
        config=True
    )
    operation_timeout = Float(1800.0, help="Seconds to wait for a long-running operation.").tag(
        config=True
    )
    poll_interval = Float(1.0, help="Seconds between polls when the service gives none.").tag(
        config=True
    )
    cache_seconds = Float(30.0, help="How long lists (catalog, models) are reused.").tag(
        config=True
    )
    # azd PR 7283's custom deploy (EVIDENCE.md section 4); no other SKU has evidence for them.
    custom_sku = Unicode(
        "GlobalProvisionedManaged", help="Default SKU when deploying a custom model."
    ).tag(config=True)

    region_accounts = Dict(
        {}, help="Accounts to deploy to by region, e.g. {'westus': 'my-westus-account'}."
    ).tag(config=True)

    @validate(*_POSITIVE, *_NOT_NEGATIVE)
    def _in_range(self, proposal: Any) -> Any:
        name, value = proposal["trait"].name, proposal["value"]
        if value <= 0 if name in _POSITIVE else value < 0:
            bound = "more than 0" if name in _POSITIVE else "0 or more"
            raise SettingError(f"The setting {name} must be {bound}, got {_shown(value)}.")
        return value

    # -- applying settings given by name (the constructor, connect, set_connection) -----------

    @classmethod
    def check_setting_names(cls, names: Any, also: tuple[str, ...] = ()) -> None:
        """Check that every name is a setting: a misspelt setting silently ignored would connect
        where the user did not ask.

        Args:
            names: the names to check (a dict's keys will do).
            also: other names accepted here (a constructor's own keywords).

        Raises:
            SettingError: (a ValidationError) naming the first unknown name, with the close
                ones or the list of settings.

        Example:
            >>> AzModels.check_setting_names({"max_retries": 2, "subscription": "s"})
            Traceback (most recent call last):
            SettingError: Unknown setting 'subscription'. Did you mean subscription_id?
        """
        known = [*cls.class_trait_names(config=True), *also]
        for name in names:
            if name not in known:
                raise SettingError(
                    f"Unknown setting {_shown(name)}."
                    + did_you_mean(
                        str(name), known, f"The settings are: {', '.join(sorted(known))}."
                    )
                )

    def apply_settings(self, settings: dict[str, Any]) -> None:
        """Set every one of `settings`, or none: all are checked before any is set.

        Args:
            settings: setting name -> value, e.g. {"max_retries": 2}.

        Raises:
            SettingError: (a ValidationError) an unknown name, or a value of the wrong type or
                out of range; the settings stay as they were.

        Example:
            >>> az.apply_settings({"max_retries": 2, "http_timeout": 30.0})
        """
        self.check_settings(settings)
        for name, value in settings.items():
            setattr(self, name, value)

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Check settings without applying them: each name a setting, each value of its type
        and in its range.

        Args:
            settings: setting name -> value.

        Raises:
            SettingError: (a ValidationError) the first name or value that is wrong.

        Example:
            >>> az.check_settings({"max_retries": -1})
            Traceback (most recent call last):
            SettingError: The setting max_retries must be 0 or more, got -1.
        """
        self.check_setting_names(settings)
        traits = self.traits()
        for name, value in settings.items():
            try:
                traits[name]._validate(self, value)  # the type, then the range (_in_range)
            except SettingError:
                raise
            except TraitError:
                raise SettingError(
                    f"The setting {name} must be {_info(traits[name])}, got "
                    f"{type(value).__name__} {_shown(value)}."
                ) from None

    # -- derived values -------------------------------------------------------------------------

    def project_parts(self) -> tuple[str, str]:
        """The account and project the settings name, each from its own setting, else read
        from the project endpoint's shape (https://ACCOUNT.services.ai.azure.com/api/projects/
        PROJECT).

        Returns:
            (account, project); "" for either one that neither gives.

        Example:
            >>> az.project_parts()
            ('contoso', 'chat-project')
        """
        account, project = self.account, self.project
        parsed = urlsplit(self.project_endpoint or "")
        path = _PROJECT_PATH.match(parsed.path or "")
        host = _FOUNDRY_HOST.match(parsed.hostname or "")
        if not project and path:
            project = path.group("project")
        if not account and host:
            account = host.group("account")
        return account, project

    def settings(self) -> dict[str, object]:
        """Every setting (what `%config AzModels.<name>` sets) and its value.

        Returns:
            A plain dict, name -> value (no secrets live in the settings).

        Example:
            >>> az.settings()["max_retries"]
            6
        """
        return {name: getattr(self, name) for name in self.trait_names(config=True)}


def validate_project_endpoint(url: str) -> str:
    """The project endpoint without a trailing slash, or a ValidationError saying the shape."""
    if not isinstance(url, str):
        raise ValidationError(f"The project endpoint must be text, got {type(url).__name__}.")
    parsed = urlsplit(url.strip())
    ok_scheme = parsed.scheme == "https" or (
        parsed.scheme == "http" and is_loopback(parsed.hostname)
    )
    if not ok_scheme or not parsed.hostname or not _PROJECT_PATH.match(parsed.path or ""):
        raise ValidationError(
            f"Project endpoint {url!r} is not of the form "
            "https://<account>.services.ai.azure.com/api/projects/<project>: copy it from the "
            "project's overview page in the Foundry portal."
        )
    return url.strip().rstrip("/")
