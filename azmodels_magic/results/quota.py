"""What the quota and account commands return: `quota`, `regions`, `accounts list` and
`deployments list --all-accounts`."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..records import Account, CapacityRange, Deployment, QuotaUsage
from ..wording import plural


@dataclass(frozen=True)
class RegionOption:
    """Where a model's SKU can be deployed: capacity there, your quota there, your account."""

    region: str
    sku: str
    model_version: str
    available_capacity: int | None  # None: the region's catalog offers it, capacity unreported
    usage_name: str
    quota_used: int | None
    quota_limit: int | None
    account: str  # your account in that region, or ""
    wanted: int | None = None  # the --capacity asked about
    accepts: CapacityRange | None = None  # what capacity the SKU takes (None: not known)

    @property
    def quota_available(self) -> int | None:
        if self.quota_limit is None or self.quota_used is None:
            return None
        return max(0, self.quota_limit - self.quota_used)

    @property
    def deployable(self) -> int | None:
        """The most that can be deployed there now: capacity and quota both allow it (None:
        neither is known)."""
        known = [n for n in (self.available_capacity, self.quota_available) if n is not None]
        return min(known) if known else None

    @property
    def capacity_problem(self) -> str | None:
        """Why the SKU refuses the capacity asked (off its step, out of its range), as deploy
        would: with the nearest valid capacities."""
        if self.wanted is None or self.accepts is None:
            return None
        return self.accepts.problem(self.wanted)

    @property
    def fits(self) -> bool:
        """Deploy would take the capacity asked there: the SKU accepts it and nothing known
        (capacity, quota) says it does not fit."""
        if self.capacity_problem:
            return False
        return self.deployable is None or self.deployable >= (self.wanted or 1)

    @property
    def room(self) -> str:
        """'40 available', or what is known when capacity is not reported."""
        if self.deployable is None:
            return "offered, capacity not reported"
        if self.available_capacity is None:
            return f"{self.deployable} of quota free, capacity not reported"
        return f"{self.deployable} available"


@dataclass
class QuotaReport:
    usages: list[QuotaUsage]
    regions: list[str]
    warnings: list[str] = field(default_factory=list)
    model: str = ""  # the --model asked about
    not_offered: list[str] = field(default_factory=list)  # regions asked whose catalog lacks it

    def summary(self) -> str:
        full = sum(1 for u in self.usages if u.limit and u.used >= u.limit)
        where = _regions_text([r for r in self.regions if r not in self.not_offered])
        of = f" for {self.model}" if self.model else ""
        text = f"{plural(len(self.usages), 'quota')}{of} in {where}" if where else ""
        text += f"; {full} exhausted" if full else ""
        if self.not_offered:
            lacking = f"{self.model} is not offered in {_regions_text(self.not_offered)}"
            text = f"{text}; {lacking}" if text else f"No quota{of}: {lacking}"
        return text + "."


def _regions_text(regions: list[str]) -> str:
    return ", ".join(regions) if len(regions) <= 4 else plural(len(regions), "region")


@dataclass
class AccountSummary:
    account: Account
    projects: int | None
    deployments: int | None
    note: str = ""


@dataclass
class AccountDeployments:
    """One account's deployments, or why they could not be read (a warning, not a failure)."""

    account: Account
    deployments: list[Deployment]
    warning: str = ""


@dataclass
class AllDeployments:
    accounts: list[AccountDeployments]
    seconds: float = 0.0

    @property
    def warnings(self) -> list[AccountDeployments]:
        return [a for a in self.accounts if a.warning]

    def summary(self) -> str:
        total = sum(len(a.deployments) for a in self.accounts)
        text = f"{plural(total, 'deployment')} in {plural(len(self.accounts), 'account')}"
        if self.warnings:
            text += f"; {plural(len(self.warnings), 'account')} could not be read"
        return text + "."
