"""QuotaService: quota per region, where a model fits, the subscription's accounts, and every
account's deployments at once.

Quota and capacity are cached briefly under keys derived from "deployments" (TtlCache drops
"deployments/..." with "deployments"), so a deploy, scale or delete invalidates them too.
Returns records; presentation makes the tables.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from .. import rules
from ..errors import AzModelsError, NotFoundError, ValidationError, one_line
from ..http.background import Task
from ..records import (
    BASE,
    Account,
    BaseModel,
    ModelCapacity,
    QuotaUsage,
    region_key,
)
from ..redaction import redact
from ..results.quota import (
    AccountDeployments,
    AccountSummary,
    AllDeployments,
    QuotaReport,
    RegionOption,
)
from ..rules import capacity_queryable
from ..steps import NextStep
from ..wording import did_you_mean

if TYPE_CHECKING:
    from ..cache import TtlCache
    from ..clients.arm import ArmClient
    from ..connection import Connection
    from .models import ModelService

T = TypeVar("T")
R = TypeVar("R")
DEFAULT_CONCURRENCY = 8


def in_parallel(
    items: Iterable[T],
    work: Callable[[T], R],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float | None = None,
) -> list[tuple[T, R | None, BaseException | None]]:
    """(item, result, error) for each item, in order, at most `concurrency` at a time. An item
    still running after `timeout` seconds gets a TimeoutError and is not waited for: it runs on
    a daemon thread, so it does not hold the process open at exit either."""
    items = list(items)
    if not items:
        return []
    slots = threading.BoundedSemaphore(max(1, min(concurrency, len(items))))
    given_up = threading.Event()

    def one(item: T) -> R:
        with slots:
            if given_up.is_set():  # never started: do not send it after the caller left
                raise TimeoutError("not started")
            return work(item)

    tasks = [Task(one, item, name="azmodels") for item in items]
    deadline = None if timeout is None else time.monotonic() + timeout
    out: list[tuple[T, R | None, BaseException | None]] = []
    for item, task in zip(items, tasks, strict=True):
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not task.wait(left):
            given_up.set()
            out.append((item, None, TimeoutError(f"no answer within {timeout:g} s")))
        elif task.exception() is not None:
            out.append((item, None, task.exception()))
        else:
            out.append((item, task.result(), None))
    given_up.set()
    return out


@rules.checked_arguments  # the Python API calls these: typed arguments, one clear line
class QuotaService:
    """Quota, regional capacity and the accounts of the connected subscription (`az.quota`):
    what `deploy` checks before it sends anything, and where else a model fits.

    Regions are named as ARM names them ("westus2"); any spelling is accepted ("West US 2").
    Lists are cached for the `cache_seconds` setting. Every method checks its arguments' types
    first (a ValidationError); a call that reaches Azure may raise AuthenticationError,
    PermissionDeniedError or ServiceError.
    """

    def __init__(
        self,
        connection: Connection,
        models: ModelService,
        *,
        cache: TtlCache,
        region_accounts: dict[str, str] | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        account_timeout: float = 60.0,
    ) -> None:
        self.connection = connection
        self.models = models
        self.cache = cache
        self.region_accounts = {region_key(r): a for r, a in (region_accounts or {}).items()}
        self.concurrency = concurrency
        self.account_timeout = account_timeout

    @property
    def arm(self):
        """The ARM client of the connected account."""
        return self.connection.arm

    # -- regions and quota ------------------------------------------------------------------------

    def all_regions(self) -> list[str]:
        """Regions where the subscription can have an AIServices account (the kind Foundry
        projects live in), from ARM's resource SKUs as azd reads them.

        Returns:
            Region names, e.g. ["eastus", "swedencentral", ...].

        Example:
            >>> az.quota.all_regions()[:3]
        """
        return self.cache.get("regions", lambda: self.arm.account_regions("AIServices"))

    def catalog(self, region: str) -> list[BaseModel]:
        """A region's catalog (merged by model version), cached like quota.

        Args:
            region: the region.

        Returns:
            The base models offered there.

        Example:
            >>> len(az.quota.catalog("swedencentral"))
        """
        region = region_key(region)
        if region == region_key(self.arm.location):
            return self.models.catalog()
        return self.cache.get(f"catalog/{region}", lambda: self.arm.catalog(region))

    def offered_in(self, region: str, model: BaseModel, sku: str) -> list[ModelCapacity]:
        """`offered`, for one region and SKU.

        Args:
            region: the region.
            model: the base model.
            sku: the SKU.

        Returns:
            The region's entry for that SKU ([] when its catalog does not list it).

        Example:
            >>> az.quota.offered_in("eastus", az.quota.base_model("gpt-4o"), "GlobalStandard")
        """
        return _listed(region_key(region), self.catalog(region), model, sku)

    def offered(self, model: BaseModel, *, sku: str | None = None) -> list[ModelCapacity]:
        """Where the regions' catalogs list `model` (with each SKU), capacity not reported: for
        formats ARM's modelCapacities cannot be asked about.

        Args:
            model: the base model.
            sku: only this SKU.

        Returns:
            One entry per region and SKU, `available_capacity` None.

        Example:
            >>> {c.region for c in az.quota.offered(az.quota.base_model("Mistral-Large-2411"))}
        """
        results = in_parallel(self.all_regions(), self.catalog, concurrency=self.concurrency)
        return [c for region, found, _ in results for c in _listed(region, found, model, sku)]

    def usages(self, region: str, *, refresh: bool = False) -> list[QuotaUsage]:
        """The subscription's quotas in a region, with how much of each is used.

        Args:
            region: the region.
            refresh: read them again rather than from the cache.

        Returns:
            One QuotaUsage per usage name (e.g. OpenAI.GlobalStandard.gpt-4o).

        Example:
            >>> [(u.usage_name, u.used, u.limit) for u in az.quota.usages("eastus")][:2]
        """
        region = region_key(region)
        return self.cache.get(
            f"deployments/quota/{region}",
            lambda: list(self.arm.iter_usages(region)),
            refresh=refresh,
        )

    def usage(self, region: str, usage_name: str) -> QuotaUsage | None:
        """One quota of a region.

        Args:
            region: the region.
            usage_name: its name, any case (e.g. "OpenAI.GlobalStandard.gpt-4o").

        Returns:
            The QuotaUsage, or None when the region has no such quota.

        Example:
            >>> az.quota.usage("eastus", "OpenAI.GlobalStandard.gpt-4o").limit
        """
        wanted = usage_name.lower()
        return next((u for u in self.usages(region) if u.usage_name.lower() == wanted), None)

    def quota(
        self,
        *,
        regions: list[str] | None = None,
        all_regions: bool = False,
        model: str | None = None,
        sku: str | None = None,
    ) -> QuotaReport:
        """The subscription's quota in some regions: used, limit and what is left.

        Args:
            regions: the regions (default: the connected account's).
            all_regions: every region of the subscription instead (a region that cannot be
                read becomes a warning).
            model: only the quotas this base model draws on, in the regions that offer it.
            sku: only quotas of this SKU.

        Returns:
            A QuotaReport: the rows (`usages`), the regions asked, warnings, and the regions
            whose catalog does not offer `model`.

        Example:
            >>> az.quota.quota(regions=["eastus", "westus2"], model="gpt-4o").usages
        """
        if all_regions:
            chosen = self.all_regions()
        else:
            chosen = list(dict.fromkeys(region_key(r) for r in regions or [] if r.strip()))
            chosen = chosen or [region_key(self.arm.location)]
        rows: list[QuotaUsage] = []
        warnings: list[str] = []
        declared = self.usage_names_of(model) if model else set()
        # A model's quota matters only where it is offered: elsewhere the shared pools it could
        # draw on (OpenAI.ProvisionedManaged...) are listed, but not for it.
        not_offered = self._not_offering(chosen, model) if declared else []
        asked = [r for r in chosen if r not in not_offered]
        for region, found, error in in_parallel(asked, self.usages, concurrency=self.concurrency):
            if error is not None:
                if not isinstance(error, AzModelsError) or len(chosen) == 1:
                    raise error
                warnings.append(f"{region}: {error}")
                continue
            rows.extend(
                u
                for u in found or []
                if (
                    not model
                    or u.model.lower() == model.lower()
                    or u.usage_name.lower() in declared
                )
                and (not sku or u.sku.lower() == sku.lower())
            )
        if model and not rows:
            self._check_model_exists(model)
        return QuotaReport(rows, chosen, warnings, model=model or "", not_offered=not_offered)

    def _check_model_exists(self, model: str) -> None:
        """No quota row names `model`: if no model has that name (custom or base), say so as
        `regions` does rather than count 0 quotas (a catalog that cannot be read says nothing)."""
        try:
            self.models.find(model)
        except NotFoundError:
            raise
        except AzModelsError:
            pass

    def _not_offering(self, regions: list[str], model: str) -> list[str]:
        """Of `regions`, those whose catalog does not list `model` (a catalog that cannot be
        read counts as offering it: its quota is shown rather than hidden)."""
        wanted = model.lower()
        results = in_parallel(regions, self.catalog, concurrency=self.concurrency)
        return [
            region
            for region, found, error in results
            if error is None and not any(m.name.lower() == wanted for m in found or ())
        ]

    def usage_names_of(self, model: str) -> set[str]:
        """The usages the catalog says `model`'s SKUs draw on (lower case). Many are shared
        pools, not named after the model: Mistral-Large-2411 GlobalStandard draws on
        AIServices.GlobalStandard.MaaS in the real catalogs.

        Args:
            model: the base model's name.

        Returns:
            The usage names, lower case; empty when the catalog cannot be read.

        Example:
            >>> az.quota.usage_names_of("gpt-4o")
        """
        try:
            versions = self.models.base_versions(model)
        except AzModelsError:
            return set()  # the catalog is unreadable: the usage names still match by model
        return {s.usage_name.lower() for m in versions for s in m.skus if s.usage_name}

    # -- where a model fits -----------------------------------------------------------------------

    def capacities(self, model_format: str, name: str, version: str) -> list[ModelCapacity]:
        """How much of a model each region can take now, per SKU (ARM's modelCapacities).

        Args:
            model_format: the model's format, e.g. "OpenAI".
            name: the model's name.
            version: the model's version.

        Returns:
            One ModelCapacity per region and SKU.

        Example:
            >>> az.quota.capacities("OpenAI", "gpt-4o", "2024-11-20")[:2]
        """
        return self.cache.get(
            f"deployments/capacity/{model_format}/{name}/{version}".lower(),
            lambda: self.arm.model_capacities(model_format, name, version),
        )

    def base_model(self, name: str, version: str | None = None) -> BaseModel:
        """A base model of the connected region's catalog.

        Args:
            name: its name.
            version: its version (default: the catalog's default).

        Returns:
            The BaseModel.

        Raises:
            NotFoundError: the catalog has no such model or version.

        Example:
            >>> az.quota.base_model("gpt-4o").version
        """
        found = self.models.find(name, type=BASE, version=version)
        assert isinstance(found, BaseModel)
        return found

    def region_options(
        self,
        model: BaseModel,
        *,
        sku: str | None = None,
        capacity: int | None = None,
    ) -> list[RegionOption]:
        """Every region and SKU where `model` can be deployed, best first: what fits, then the
        most deployable, your own accounts' regions before others.

        Args:
            model: the base model.
            sku: only this SKU.
            capacity: the capacity wanted (says which options fit it).

        Returns:
            RegionOptions: region, SKU, available capacity, your quota there and your account
            there (if any).

        Example:
            >>> az.quota.region_options(az.quota.base_model("gpt-4o"), capacity=10)[0].region
        """
        if capacity_queryable(model.format):
            caps = [
                c
                for c in self.capacities(model.format, model.name, model.version)
                if not sku or c.sku.lower() == sku.lower()
            ]
        else:
            caps = self.offered(model, sku=sku)
        mine = self.own_regions()
        usages = {
            region: dict(found or [])
            for region, found, _ in in_parallel(
                sorted({c.region for c in caps}),
                lambda r: [(u.usage_name.lower(), u) for u in self.usages(r)],
                concurrency=self.concurrency,
            )
        }
        options = []
        for c in caps:
            usage_name = usage_name_of(model, c.sku)
            offered = model.sku(c.sku)
            quota = usages.get(c.region, {}).get(usage_name.lower())
            options.append(
                RegionOption(
                    region=c.region,
                    sku=c.sku,
                    model_version=c.model_version,
                    available_capacity=c.available_capacity,
                    usage_name=usage_name,
                    quota_used=quota.used if quota else None,
                    quota_limit=quota.limit if quota else None,
                    account=mine.get(c.region, ""),
                    wanted=capacity,
                    accepts=offered.capacity if offered else None,
                )
            )
        options.sort(
            key=lambda o: (not o.fits, not o.account, -(o.deployable or 0), o.region, o.sku)
        )
        return options

    def regions(
        self,
        name: str,
        *,
        version: str | None = None,
        sku: str | None = None,
        capacity: int | None = None,
    ) -> tuple[BaseModel, list[RegionOption]]:
        """Where a base model can be deployed (what `regions` shows), best first.

        Args:
            name: the base model's name.
            version: its version (default: the catalog's default).
            sku: only this SKU.
            capacity: the capacity wanted.

        Returns:
            (the model, its region options as `region_options` orders them).

        Raises:
            NotFoundError: no such base model or version.
            ValidationError: a SKU the model does not offer.

        Example:
            >>> model, options = az.quota.regions("gpt-4o", sku="GlobalStandard", capacity=10)
        """
        model = self.base_model(name, version)
        if sku and model.sku(sku) is None:
            offered = ", ".join(s.name for s in model.skus)
            raise ValidationError(
                f"SKU '{sku}' is not offered for '{model.name}' {model.version}: choose one of "
                f"{offered}."
            )
        return model, self.region_options(model, sku=sku, capacity=capacity)

    # -- accounts ---------------------------------------------------------------------------------

    def accounts(self, *, refresh: bool = False) -> list[Account]:
        """The subscription's AI Services accounts.

        Args:
            refresh: read them again rather than from the cache.

        Returns:
            Each Account with its resource group and region.

        Example:
            >>> [(a.name, a.region) for a in az.quota.accounts()]
        """
        return self.cache.get("accounts", lambda: list(self.arm.iter_accounts()), refresh=refresh)

    def own_regions(self) -> dict[str, str]:
        """region -> your account there: `region_accounts` first, then discovered ones (the
        connected account wins in its own region).

        Returns:
            region -> account name (accounts that cannot be listed are left out).

        Example:
            >>> az.quota.own_regions()
            {'eastus': 'contoso', 'westus2': 'contoso-west'}
        """
        found: dict[str, str] = {}
        try:
            for account in self.accounts():
                found.setdefault(account.region, account.name)
        except AzModelsError:
            pass  # listing accounts may be forbidden: the configured ones still count
        found.update(self.region_accounts)
        found[region_key(self.arm.location)] = self.arm.account
        return found

    def account_named(self, name: str) -> Account:
        """One account of the subscription, read fresh.

        Args:
            name: the account's name (any case).

        Returns:
            The Account.

        Raises:
            NotFoundError: no account of that name (close names are suggested).

        Example:
            >>> az.quota.account_named("contoso-west").region
            'westus2'
        """
        accounts = self.accounts(refresh=True)
        match = next((a for a in accounts if a.name.lower() == name.lower()), None)
        if match is None:
            hint = did_you_mean(name, [a.name for a in accounts], "{0} shows them.")
            raise NotFoundError(
                f"No account named '{name}' in subscription {self.arm.subscription_id}.{hint}",
                code="AccountNotFound",
                steps=[NextStep.of("accounts list")],
            )
        return match

    def configured_client(self, region: str | None) -> ArmClient | None:
        """The client for `region` without looking anything up: the connected account's when
        there is no region or it is the account's own, the account `region_accounts` maps it to,
        else None.

        Args:
            region: the region (None: the connected account's).

        Returns:
            An ARM client for that account, or None.

        Example:
            >>> az.quota.configured_client("westus2")
        """
        if not region or region_key(region) == region_key(self.arm.location):
            return self.arm
        account = self.region_accounts.get(region_key(region))
        if not account:
            return None
        return self.arm.for_account(
            account, resource_group=self.arm.resource_group, location=region
        )

    def client_for(self, account: Account):
        """An ARM client for another account of the subscription, same sign-in.

        Args:
            account: the account (e.g. from `accounts`).

        Returns:
            Its ArmClient.

        Example:
            >>> az.quota.client_for(az.quota.account_named("contoso-west")).project_names()
        """
        return self.arm.for_account(
            account.name, resource_group=account.resource_group, location=account.region
        )

    def account_summaries(self) -> list[AccountSummary]:
        """Every account with how many projects and deployments it has, read in parallel (what
        `accounts list` shows).

        Returns:
            One AccountSummary per account; an account that fails or is slow has None counts
            and a note saying why.

        Example:
            >>> [(s.account.name, s.deployments) for s in az.quota.account_summaries()]
        """
        accounts = self.accounts(refresh=True)

        def count(account: Account) -> tuple[int, int]:
            arm = self.client_for(account)
            return len(arm.project_names()), sum(1 for _ in arm.iter_deployments())

        out = []
        for account, counts, error in in_parallel(
            accounts, count, concurrency=self.concurrency, timeout=self.account_timeout
        ):
            if error is None and counts is not None:
                out.append(AccountSummary(account, counts[0], counts[1]))
            else:
                out.append(AccountSummary(account, None, None, note=_one_line(error)))
        return out

    def all_deployments(self) -> AllDeployments:
        """Deployments of every account, read in parallel; an account that fails or is slow
        becomes a warning.

        Returns:
            AllDeployments: per account its deployments or a warning, and the seconds taken.

        Example:
            >>> az.quota.all_deployments().summary()
        """
        started = time.perf_counter()
        accounts = self.accounts(refresh=True)
        results = in_parallel(
            accounts,
            lambda a: list(self.client_for(a).iter_deployments()),
            concurrency=self.concurrency,
            timeout=self.account_timeout,
        )
        out = [
            AccountDeployments(account, found or [], _one_line(error) if error else "")
            for account, found, error in results
        ]
        return AllDeployments(out, seconds=time.perf_counter() - started)


def _listed(
    region: str, catalog: list[BaseModel] | None, model: BaseModel, sku: str | None
) -> list[ModelCapacity]:
    """`model`'s SKUs (or `sku`) as a region's catalog lists them, capacity not reported."""
    match = next((m for m in catalog or () if m.key == model.key), None)
    return [
        ModelCapacity(
            region=region,
            model_format=model.format,
            model_name=model.name,
            model_version=model.version,
            sku=option.name,
            available_capacity=None,
        )
        for option in (match.skus if match else ())
        if not sku or option.name.lower() == sku.lower()
    ]


def usage_name_of(model: Any, sku: str) -> str:
    """The usage a deployment of `model` with `sku` consumes (the catalog says; else the
    format.SKU.model convention)."""
    option = model.sku(sku) if hasattr(model, "sku") else None
    if option is not None and option.usage_name:
        return option.usage_name
    return f"{model.format}.{sku}.{model.name}"


def _one_line(error: BaseException | None) -> str:
    """A short note for a table cell: the service's message and code (no hint)."""
    if error is None:
        return ""
    if isinstance(error, AzModelsError):
        code = f" [{error.code}]" if error.code and error.code not in error.message else ""
        return one_line(error.message + code)
    if isinstance(error, TimeoutError):  # ours, from in_parallel: its text says it all
        return f"{error} (the account did not answer; try again later)"
    return redact(f"{type(error).__name__}: {error}")
