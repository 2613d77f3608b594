"""The sandbox's subscription: its regions, its accounts, and the quota deployments consume.

Each region offers a subset of the catalog (the default region offers all of it) and every
region has quota per usage name (`OpenAI.GlobalStandard.gpt-4o`): a deployment takes its capacity
from its SKU's usage in its account's region; scaling changes that and deleting gives it back.
`--quota` sets limits: `USAGE=N` for one usage name, `SKU=N` for a pool that every usage of that
SKU draws on together, either prefixed with `REGION:` to hold in that region only.
"""

from __future__ import annotations

import re
import threading
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .catalog import CUSTOM_SKUS, CUSTOM_USAGE, CUSTOM_USAGE_DEFAULT_LIMIT, Catalog
from .routing import ACCOUNT, RESOURCE_GROUP

if TYPE_CHECKING:
    from .app import App

DEFAULT_REGIONS = ("eastus", "eastus2", "swedencentral", "westus3")
DEFAULT_LIMIT = 1000
# `\Z`, not `$`: `$` also matches before a trailing newline.
ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{1,62}\Z")
REGION_NAME = re.compile(r"^[a-z0-9]{2,40}\Z")


def region_key(region: str) -> str:
    """'East US 2' and 'eastus2' are one region, as ARM reads them."""
    return region.replace(" ", "").lower()


@dataclass(frozen=True)
class AccountSpec:
    """An AI Services account of the sandbox's subscription."""

    name: str
    resource_group: str
    location: str
    kind: str = "AIServices"
    has_project: bool = False
    denied: bool = False  # the caller may list it but not read its deployments (RBAC)
    hung: bool = False  # listed, but its own routes never answer (a region that is down)


def parse_account(text: str, default_group: str) -> AccountSpec:
    """`[RESOURCE_GROUP/]NAME=REGION[:denied|:hung|:openai]` (the --accounts syntax; `openai`:
    an account of kind OpenAI, offered only the catalog's OpenAI-kind entries)."""
    left, sep, right = text.partition("=")
    group, _, name = left.rpartition("/")
    region, _, flag = right.partition(":")
    region = region_key(region)
    if (
        not sep
        or not ACCOUNT_NAME.match(name)
        or not REGION_NAME.match(region)
        or flag not in ("", "denied", "hung", "openai")
    ):
        raise ValueError(
            "expected [RESOURCE_GROUP/]NAME=REGION[:denied|:hung|:openai] (e.g. "
            "team-b=swedencentral), "
            f"got '{text}'"
        )
    return AccountSpec(
        name=name,
        resource_group=(group or default_group).lower(),
        location=region,
        denied=flag == "denied",
        hung=flag == "hung",
        kind="OpenAI" if flag == "openai" else "AIServices",
    )


def parse_regions(values: list[str], location: str) -> tuple[str, ...]:
    """The regions of --regions (commas or spaces), the default location always among them."""
    found: list[str] = [region_key(location)]
    for value in values:
        for part in value.split(","):
            key = region_key(part)
            if key and key not in found:
                if not REGION_NAME.match(key):
                    raise ValueError(f"'{part}' is not a region name (e.g. swedencentral)")
                found.append(key)
    return tuple(found)


def _offered(region: str, entry: dict[str, Any]) -> bool:
    # A stable, arbitrary quarter of the models is missing from each non-default region.
    model = entry["model"]
    key = f"{region}/{model.get('format')}/{model.get('name')}".lower()
    return zlib.crc32(key.encode()) % 4 != 0


class Subscription:
    """Regions, accounts and quota limits, built once from the settings."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        location: str,
        regions: tuple[str, ...],
        accounts: tuple[AccountSpec, ...],
        quota: dict[str, int],
    ) -> None:
        self.default_region = region_key(location)
        self.regions = regions or (self.default_region,)
        self.catalogs: dict[str, Catalog] = {self.default_region: catalog}
        for region in self.regions:
            if region not in self.catalogs:
                self.catalogs[region] = Catalog([e for e in catalog.entries if _offered(region, e)])
        self.accounts = {a.name.lower(): a for a in accounts}
        self.limits = {k.lower(): v for k, v in quota.items()}

    def catalog(self, region: str) -> Catalog | None:
        return self.catalogs.get(region_key(region))

    def account(self, name: str) -> AccountSpec | None:
        return self.accounts.get(name.lower())

    def in_region(self, region: str) -> list[AccountSpec]:
        return [a for a in self.accounts.values() if a.location == region_key(region)]

    def pool(self, region: str, usage: str, sku: str) -> tuple[str, int]:
        """The quota a usage draws on in a region: (pool key, limit)."""
        region = region_key(region)
        for scope, key in (
            (f"{region}:{usage}", f"usage:{usage}"),
            (usage, f"usage:{usage}"),
            (f"{region}:{sku}", f"sku:{sku}"),
            (sku, f"sku:{sku}"),
        ):
            limit = self.limits.get(scope.lower())
            if limit is not None:
                return key.lower(), limit
        default = CUSTOM_USAGE_DEFAULT_LIMIT if usage.lower() == CUSTOM_USAGE.lower() else None
        return f"usage:{usage}".lower(), DEFAULT_LIMIT if default is None else default

    def usage_names(self, region: str) -> list[tuple[str, str]]:
        """(usage name, SKU) of every SKU offered in a region, in catalog order."""
        seen: dict[str, str] = {}
        catalog = self.catalog(region)
        for entry in catalog.entries if catalog else []:
            for sku in entry["model"].get("skus") or []:
                usage = sku_usage(entry["model"], sku)
                seen.setdefault(usage, sku.get("name", ""))
        if self.in_region(region):
            for sku in CUSTOM_SKUS:
                seen.setdefault(sku["usageName"], sku["name"])
        return list(seen.items())


def sku_usage(model: dict[str, Any], sku: dict[str, Any]) -> str:
    """The usage name a deployment of this model and SKU consumes."""
    usage = sku.get("usageName")
    if isinstance(usage, str) and usage:
        return usage
    return f"{model.get('format')}.{sku.get('name')}.{model.get('name')}"


_lock = threading.Lock()


def subscription(app: App) -> Subscription:
    """The app's Subscription (built on first use from its settings)."""
    found = getattr(app, "_subscription", None)
    if found is not None:
        return found
    with _lock:
        found = getattr(app, "_subscription", None)
        if found is None:
            settings = app.settings
            regions = tuple(getattr(settings, "regions", ()) or ())
            if not regions:
                regions = parse_regions(list(DEFAULT_REGIONS), settings.location)
            default = AccountSpec(
                ACCOUNT, RESOURCE_GROUP, region_key(settings.location), has_project=True
            )
            accounts = [default]
            for extra in getattr(settings, "accounts", ()) or ():
                spec = parse_account(extra, RESOURCE_GROUP) if isinstance(extra, str) else extra
                if spec.name.lower() != ACCOUNT:
                    accounts.append(spec)
            found = Subscription(
                app.catalog,
                location=settings.location,
                regions=regions,
                accounts=tuple(accounts),
                quota=settings.quota,
            )
            app._subscription = found  # type: ignore[attr-defined]
    return found


def check_setup(
    regions: tuple[str, ...], accounts: list[AccountSpec], quota: dict[str, int] | None = None
) -> str | None:
    """What is wrong with --regions/--accounts/--quota, or None."""
    for key in quota or {}:
        region, sep, _ = key.partition(":")
        if sep and region_key(region) not in regions:
            return (
                f"--quota {key}=...: {region} is not one of the regions ({', '.join(regions)}); "
                "add it to --regions"
            )
    names = set()
    for account in accounts:
        if account.location not in regions:
            return (
                f"--accounts {account.name}={account.location}: {account.location} is not one of "
                f"the regions ({', '.join(regions)}); add it to --regions"
            )
        if account.name.lower() in names:
            return f"--accounts names {account.name} twice"
        names.add(account.name.lower())
    return None
