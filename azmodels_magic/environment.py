"""The `AZMODELS_*` environment variables the client reads: each declared once, here.

Every module reads its variable through its `Setting` (`DEBUG.read()`), or a setting's through
the `AZMODELS_<SETTING>` family (`SETTING_VARIABLES.read("region_accounts")`), never
`os.environ` directly, so this list is the whole story (docs/architecture.md prints it). The
sandbox wing has its own few (`AZMODELS_AZURITE`, `AZMODELS_SANDBOX_SPEC_LOG`): it imports
nothing of the client.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from .errors import ValidationError
from .steps import setting_from_text, setting_variable

T = TypeVar("T")


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One environment variable: its name, what it means, its value when unset, its parser."""

    name: str
    meaning: str
    default: T
    parse: Callable[[str], T]

    def read(self, environ: Mapping[str, str] | None = None) -> T:
        """The variable's value (`default` when unset or empty); a value the parser refuses is
        one line naming the variable."""
        raw = (os.environ if environ is None else environ).get(self.name, "").strip()
        if not raw:
            return self.default
        try:
            return self.parse(raw)
        except ValueError as exc:
            raise ValidationError(
                f"{self.name}={raw!r} is not valid ({exc}): it is {self.meaning}; unset it or "
                "fix it.",
                code="BadEnvironmentVariable",
            ) from None


def _flag(raw: str) -> bool:
    return raw == "1"


def _folder(raw: str) -> Path:
    return Path(raw).expanduser()


def _seconds(raw: str) -> float:
    value = float(raw)
    if not value > 0 or value == float("inf"):
        raise ValueError("a number of seconds above 0")
    return value


def _interaction(raw: str) -> str:
    """'none', 'terminal', or '' (any other value: decided from where it runs)."""
    return {"0": "none", "none": "none", "terminal": "terminal"}.get(raw, "")


DEBUG = Setting("AZMODELS_DEBUG", "'1' to show the traceback of a failure in the CLI", False, _flag)
SANDBOX = Setting(
    "AZMODELS_SANDBOX", "the ARM endpoint of a running sandbox the CLI attaches to", "", str
)
INTERACTIVE = Setting(
    "AZMODELS_INTERACTIVE",
    "how confirmations ask: '0' or 'none' never asks (as in a script), 'terminal' asks with "
    "input(); unset, from where it runs",
    "",
    _interaction,
)
DATA_DIR: Setting[Path | None] = Setting(
    "AZMODELS_DATA_DIR",
    "the folder that keeps the terminal's sandbox state (unset: the per-user data folder)",
    None,
    _folder,
)
CACHE_DIR: Setting[Path | None] = Setting(
    "AZMODELS_CACHE_DIR",
    "the folder of upload journals and locks (unset: $XDG_CACHE_HOME/azmodels, else "
    "~/.cache/azmodels)",
    None,
    _folder,
)
ACCOUNT_TIMEOUT = Setting(
    "AZMODELS_ACCOUNT_TIMEOUT",
    "seconds the all-accounts views (`accounts list`, `deployments list --all-accounts`) wait "
    "for one account before they report it as a warning",
    60.0,
    _seconds,
)

SETTINGS: tuple[Setting, ...] = (DEBUG, SANDBOX, INTERACTIVE, DATA_DIR, CACHE_DIR, ACCOUNT_TIMEOUT)


@dataclass(frozen=True)
class SettingFamily:
    """A family of variables, one per setting of `AzModels` (`AZMODELS_REGION_ACCOUNTS` for
    `region_accounts`): how the terminal gives a setting, and the variable its advice names
    (`steps.setting_variable`). The CLI reads them; a setting with an AZURE_* variable of its
    own is given there instead."""

    name: str  # the family's pattern, as the docs list it
    meaning: str
    unset: str  # what an unset variable leaves

    def read(self, setting: str, environ: Mapping[str, str] | None = None) -> Any:
        """The value `setting`'s variable gives (JSON, else the text itself; `steps.
        setting_from_text`), or None when it is not set."""
        text = (os.environ if environ is None else environ).get(setting_variable(setting))
        return None if text is None else setting_from_text(text)


SETTING_VARIABLES = SettingFamily(
    "AZMODELS_<SETTING>",
    "a setting of `AzModels` for the CLI, named in capitals (`AZMODELS_REGION_ACCOUNTS`): JSON "
    '(`{"westus": "acct"}`, `30`, `1` for true), else the text itself',
    "the setting's own default",
)


def asking(way: str) -> str:
    """How a front end that would ask with `way` asks, after $AZMODELS_INTERACTIVE: "0" or
    "none" never asks, "terminal" asks with input()."""
    forced = INTERACTIVE.read()  # "none", "terminal" or "" (unset)
    if forced == "none":
        return ""
    if forced == "terminal":
        return "input"
    return way
