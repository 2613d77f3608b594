"""Know before you deploy: the checks `deploy` runs before it sends anything.

`check_before_deploy` picks the account for `--region` (the connected one, `region_accounts`,
or one discovered in the subscription), then checks that the model, version and SKU are offered
in that region, that the region has the capacity, and that the quota left for the SKU's usage
name covers the capacity. A refusal is one line with the shortfall and up to three regions
where the same deployment fits, each with its command; nothing is sent. The service's own
InsufficientQuota (another deploy got there first) is reported the same way.

`check_before_scale` does the same for a scale up: only the added capacity needs quota.

A custom model's deploy or scale up is checked against the usage its SKU draws on (a
GlobalProvisionedManaged one: AIServices.GlobalProvisionedManaged.Fireworks, EVIDENCE.md section
4); where nothing says which usage, it is sent and the service decides.
"""

from __future__ import annotations

from typing import Any

from ..clients.arm import ArmClient
from ..errors import AzModelsError, QuotaExceededError, ValidationError
from ..records import BASE, Account, BaseModel, ModelCapacity, SkuOption, region_key
from ..results.quota import RegionOption
from ..rules import capacity_queryable
from ..steps import NextStep
from .quota import QuotaService, usage_name_of

MAX_SUGGESTIONS = 3


def check_before_deploy(
    quota: QuotaService,
    target: Any,
    sku: SkuOption,
    units: int,
    region: str | None,
    deployment_name: str,
) -> ArmClient:
    """The client of the account to deploy in, once everything that can be checked is; raises
    a one-line error (with where it fits instead) and sends nothing otherwise."""
    arm = account_for_region(quota, region)
    if not isinstance(target, BaseModel):
        if not sku.usage_name:
            return arm  # no usage is known for this SKU: the service decides
        custom = _CustomPlan(quota, f"{target.name} {target.version} {sku.name} x {units}", sku,
                             units)  # fmt: skip
        region_now = actual_region(quota, arm)
        custom.check(region_now)
        return _GuardedArm(arm, custom, region_now)
    check_account_kind(quota, arm, target)
    plan = _Plan(quota, target, sku, units, deployment_name)
    region_now = actual_region(quota, arm)
    plan.check(region_now)
    return _GuardedArm(arm, plan, region_now)


def check_before_scale(
    quota: QuotaService, deployment: Any, capacity: int, sku: SkuOption
) -> ArmClient:
    """The client to scale the deployment with, once the capacity it adds is checked against the
    quota and the region's capacity; raises a one-line error (with where it fits instead) and
    sends nothing otherwise. Scaling down needs no check. `sku`: the deployment's SKU, with its
    range and usage name."""
    arm = quota.arm
    added = capacity - deployment.capacity
    if added <= 0:
        return arm
    if deployment.type != BASE:
        if not sku.usage_name:
            return arm  # no usage is known for this SKU: the service decides
        what = (
            f"Scaling '{deployment.name}' ({deployment.model_name} {deployment.model_version} "
            f"{sku.name}) from {deployment.capacity} to {capacity}"
        )
        custom = _CustomPlan(quota, what, sku, capacity, added=added)
        region_now = actual_region(custom.quota, arm)
        custom.check(region_now)
        return _GuardedArm(arm, custom, region_now)
    model = next(
        (
            m
            for m in quota.models.base_versions(deployment.model_name)
            if not deployment.model_version or m.version == deployment.model_version
        ),
        None,
    )
    if model is None:
        return arm  # the catalog no longer lists it: the service will decide
    plan = _Plan(quota, model, sku, capacity, deployment.name, added=added)
    plan.what = (
        f"Scaling '{deployment.name}' ({model.name} {model.version} {sku.name}) from "
        f"{deployment.capacity} to {capacity}"
    )
    region_now = actual_region(quota, arm)
    plan.check(region_now)
    return _GuardedArm(arm, plan, region_now)


def listed_account(quota: QuotaService, arm: ArmClient) -> Account | None:
    """The account `arm` acts for, as ARM lists it, else as ARM shows it (None: neither is
    allowed)."""
    try:
        found = [a for a in quota.accounts() if a.name.lower() == arm.account.lower()]
    except AzModelsError:
        found = []
    if found:
        return found[0]
    try:
        return arm.get_account()
    except AzModelsError:
        return None


def actual_region(quota: QuotaService, arm: ArmClient) -> str:
    """Where the account really is (quota is spent there), as ARM lists it; else as configured."""
    account = listed_account(quota, arm)
    return account.region if account and account.region else region_key(arm.location)


def check_account_kind(quota: QuotaService, arm: ArmClient, model: BaseModel) -> None:
    """The catalog lists each model version once per account kind it is offered to (real
    catalogs: gpt-4o to OpenAI and AIServices accounts, Mistral-Large-3 to AIServices and MaaS):
    a deploy through an account of another kind is refused here, before anything is sent."""
    account = listed_account(quota, arm)
    if account is None or not account.kind or not model.kinds:
        return  # not known: the service decides
    if account.kind.lower() in {k.lower() for k in model.kinds}:
        return
    raise ValidationError(
        f"{model.name} {model.version} is offered to accounts of kind "
        f"{' or '.join(model.kinds)}; '{account.name}' is of kind {account.kind}. Deploy it "
        "through an account of one of those kinds (connect --account).",
        code="ModelNotOfferedToAccountKind",
    )


def account_for_region(quota: QuotaService, region: str | None) -> ArmClient:
    """The client of the account to deploy in: the connected one (no --region, or its own), the
    one `region_accounts` maps the region to, else one of yours discovered there."""
    configured = quota.configured_client(region)
    if configured is not None:
        return configured
    wanted = region_key(region)
    try:
        accounts = [a for a in quota.accounts() if a.region == wanted]
    except AzModelsError:
        accounts = []
    if accounts:
        return quota.client_for(sorted(accounts, key=lambda a: a.name.lower())[0])
    arm = quota.arm
    raise ValidationError(
        f"--region {region}: you have no account in {wanted} (the connected account "
        f"'{arm.account}' is in {arm.location}). Create one, e.g. `az cognitiveservices account "
        f"create --name <name> --resource-group {arm.resource_group} --location {wanted} "
        "--kind AIServices --sku S0`, or map an existing one with {1}; {0} shows yours.",
        code="NoAccountInRegion",
        steps=[NextStep.of("accounts list"), map_region_account(wanted)],
    )


def map_region_account(region: str) -> NextStep:
    """The setting that names your account in `region` (`region_accounts`), as a step."""
    return NextStep.change("region_accounts", {region: "<account>"}, what="Map an account")


class _Plan:
    """One deployment's model, SKU and capacity, and how to say where else it fits."""

    def __init__(
        self,
        quota: QuotaService,
        model: BaseModel,
        sku: SkuOption,
        units: int,
        name: str,
        *,
        added: int | None = None,
    ) -> None:
        self.quota = quota
        self.model = model
        self.sku = sku
        self.units = units
        self.name = name
        # What the quota and the region must still find: all of it for a new deployment, only
        # the difference for a scale up (the deployment already holds the rest).
        self.needed = units if added is None else added
        self.usage_name = usage_name_of(model, sku.name)
        self.what = f"{model.name} {model.version} {sku.name} x {units}"

    @property
    def label(self) -> str:
        return self.what

    def command(self, region: str) -> NextStep:
        return NextStep.of(
            "deploy",
            name=self.model.name,
            version=self.model.version,
            deployment_name=self.name,
            sku=self.sku.name,
            capacity=self.units,
            region=region,
        )

    def elsewhere(self, here: str) -> tuple[str, list[NextStep]]:
        """' It fits in R1 ({0}), ...' and the commands it names, or what to do when it fits
        nowhere else."""
        try:
            options = self.quota.region_options(self.model, sku=self.sku.name, capacity=self.units)
        except AzModelsError:
            return " Lower --capacity, or ask for more quota.", []
        fitting: list[RegionOption] = [o for o in options if o.fits and o.region != here]
        if not fitting:
            return " No other region has room for it: lower --capacity, or ask for more quota.", []
        parts, steps = [], []
        for index, option in enumerate(fitting[:MAX_SUGGESTIONS]):
            note = "" if option.account else ", after creating an account there"
            parts.append(f"{option.region} ({option.room}{note}: {{{index}}})")
            steps.append(self.command(option.region))
        return " It fits in " + "; ".join(parts) + ".", steps

    def _offers(self, region: str) -> list[ModelCapacity] | None:
        """Where the model's SKUs are offered: ARM's modelCapacities, or for a format it takes
        no questions about (`rules.capacity_queryable`) the region's catalog; None: unknown."""
        try:
            if capacity_queryable(self.model.format):
                model = self.model
                return self.quota.capacities(model.format, model.name, model.version) or None
            return self.quota.offered_in(region, self.model, self.sku.name)
        except AzModelsError:
            return None  # the capacity API is unavailable: quota is still checked

    def check(self, region: str) -> None:
        caps = self._offers(region)
        sku = self.sku.name.lower()
        here = [c for c in caps or () if c.region == region and c.sku.lower() == sku]
        if caps is not None and not here:
            text, steps = self.elsewhere(region)
            raise ValidationError(
                f"{self.model.name} {self.model.version} with SKU {self.sku.name} is not "
                f"offered in {region}.{text}",
                code="ModelNotOfferedInRegion",
                steps=steps,
            )
        usage = _short_of(self.quota, region, self.usage_name, self.needed)
        if usage is not None:
            text, steps = self.elsewhere(region)
            raise _insufficient(self.label, self.needed, usage, region, text, steps)
        reported = [c.available_capacity for c in here if c.available_capacity is not None]
        if reported:
            room = max(reported)
            if self.needed > room:
                text, steps = self.elsewhere(region)
                raise QuotaExceededError(
                    f"{self.label} needs {self.needed}, {region} has capacity for {room} now; "
                    f"nothing was sent.{text}",
                    code="InsufficientCapacity",
                    steps=steps,
                )

    def refused(self, error: QuotaExceededError, region: str) -> QuotaExceededError:
        """The service's own refusal, with where the deployment fits instead."""
        self.quota.cache.invalidate("deployments")  # what we knew of the quota was stale
        text, steps = self.elsewhere(region)
        return QuotaExceededError(
            f"{error.message} ({self.label} in {region}).{text}",
            steps=steps,
            code=error.code or "InsufficientQuota",
            status=error.status,
            request_id=error.request_id,
        )


class _CustomPlan:
    """A custom deployment's capacity against the usage its SKU draws on. No "fits elsewhere":
    its model lives in this account's project, so other regions' accounts cannot deploy it."""

    HINT = " Lower --capacity, or ask for more quota."

    def __init__(
        self, quota: QuotaService, what: str, sku: SkuOption, units: int, *,
        added: int | None = None,
    ) -> None:  # fmt: skip
        self.quota = quota
        self.what = what
        self.usage_name = sku.usage_name
        self.needed = units if added is None else added

    def check(self, region: str) -> None:
        usage = _short_of(self.quota, region, self.usage_name, self.needed)
        if usage is not None:
            raise _insufficient(self.what, self.needed, usage, region, self.HINT)

    def refused(self, error: QuotaExceededError, region: str) -> QuotaExceededError:
        """The service's own refusal, as it gave it (one line)."""
        self.quota.cache.invalidate("deployments")  # what we knew of the quota was stale
        return error


def _short_of(quota: QuotaService, region: str, usage_name: str, needed: int):
    """The usage `needed` units would overrun in `region`, or None: it fits, or the quota cannot
    be read (e.g. no permission), and then the service decides."""
    try:
        usage = quota.usage(region, usage_name)
    except AzModelsError:
        return None
    return usage if usage is not None and needed > usage.available else None


def _insufficient(
    what: str, needed: int, usage: Any, region: str, text: str, steps: tuple | list = ()
) -> QuotaExceededError:
    """The one-line refusal of a deployment the quota left cannot take; nothing was sent."""
    return QuotaExceededError(
        f"{what} needs {needed}, {usage.available} left of {usage.limit} in {region} "
        f"({usage.usage_name}: {usage.used} of {usage.limit} used); nothing was sent.{text}",
        code="InsufficientQuota",
        steps=list(steps),
    )


class _GuardedArm(ArmClient):
    """The account's client, whose PUT (deploy) or PATCH (scale) of this deployment reports a
    quota refusal with the regions where it fits."""

    def __init__(self, arm: ArmClient, plan: _Plan | _CustomPlan, region: str) -> None:
        super().__init__(
            arm.plane,
            subscription_id=arm.subscription_id,
            resource_group=arm.resource_group,
            account=arm.account,
            location=arm.location,
            metrics_api_version=arm.metrics_api_version,
        )
        self._plan = plan
        self._region = region

    def put_deployment(self, name: str, **kwargs: Any):
        try:
            return super().put_deployment(name, **kwargs)
        except QuotaExceededError as exc:
            raise self._plan.refused(exc, self._region) from None

    def patch_deployment(self, name: str, **kwargs: Any):
        try:
            return super().patch_deployment(name, **kwargs)
        except QuotaExceededError as exc:
            raise self._plan.refused(exc, self._region) from None
