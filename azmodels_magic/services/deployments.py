"""DeploymentService: deploy base or custom models; list, show, scale and delete deployments.

Everything that can be checked before a call is checked before it (model, SKU, capacity range,
region, name clash), so a refused command sends nothing. A deployment whose creation fails is
removed again, so no command that reported failure leaves one behind.

Once the service has accepted a change, the command does not report failure: when its outcome
cannot be followed (polls fail, the wait times out) it says the change was accepted and its state
is unknown, and running the same command again picks it up (adopts a deployment with the same
spec, waits for a scale or delete in flight) instead of refusing.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .. import rules
from ..cache import TtlCache
from ..errors import (
    AzModelsError,
    ConflictError,
    NotFoundError,
    OperationFailedError,
    OperationTimeoutError,
    ValidationError,
)
from ..http.operation import Operation, poll_until
from ..records import (
    CUSTOM,
    BaseModel,
    CapacityRange,
    CustomModel,
    Deployment,
    SkuOption,
)
from ..redaction import get_logger
from ..results.deployments import (
    DeploymentDetails,
    DeploymentList,
    DeploymentMetrics,
    MetricPoint,
    ScaleReport,
    accepted_text,
)
from ..steps import NextStep
from ..wording import did_you_mean
from . import deploy_check

if TYPE_CHECKING:
    from ..connection import Connection
    from .models import ModelService
    from .quota import QuotaService

log = get_logger(__name__)

# Any capacity: a custom deploy whose base model the catalog does not list has no advertised
# range, so the service decides (its refusal is shown as it gave it).
_UNKNOWN_RANGE = CapacityRange(minimum=1, maximum=rules.MAX_CAPACITY, default=rules.CUSTOM_CAPACITY)
METRICS = ("ModelRequests", "TimeToResponse", "ClientErrors", "ServerErrors")
_STATUS_FILTERS = {"running", "stopped", "failed", "creating"}


@rules.checked_arguments  # the Python API calls these: typed arguments, one clear line
class DeploymentService:
    """Deploy base and custom models, and list, show, scale and delete the deployments of the
    connected account (`az.deployments`).

    Everything that can be checked before a request is checked first (model, SKU, capacity
    range, region, quota, a name clash), so a refused call sends nothing. Every method checks
    its arguments' types first (a ValidationError); a call that reaches Azure may raise
    AuthenticationError, PermissionDeniedError or ServiceError.
    """

    def __init__(
        self,
        connection: Connection,
        models: ModelService,
        quota: QuotaService,
        *,
        cache: TtlCache,
        custom_sku: str = rules.CUSTOM_SKU,
    ) -> None:
        self.connection = connection
        self.models = models
        self.quota = quota  # where to deploy for --region, and the checks before a deploy
        self.cache = cache
        self.custom_sku = custom_sku

    @property
    def arm(self):
        """The ARM client of the connected account (deployments, keys, metrics)."""
        return self.connection.arm

    # -- read -----------------------------------------------------------------------------------

    def all(self, *, refresh: bool = False) -> list[Deployment]:
        """Every deployment of the connected account, from the cache unless `refresh`.

        Args:
            refresh: read them again rather than from the cache.

        Returns:
            The deployments, any model, any state.

        Example:
            >>> [d.name for d in az.deployments.all(refresh=True)]
        """
        return self.models.deployments(refresh=refresh)

    def list(
        self, *, model: str | None = None, type: str = "all", status: str | None = None
    ) -> DeploymentList:
        """The deployments, read fresh (states move on their own), optionally filtered.

        Args:
            model: only those of this model (any case).
            type: "base", "custom" or "all".
            status: only those "running", "stopped", "failed" or "creating".

        Returns:
            A DeploymentList (`.deployments`, the records; a table in a notebook).

        Raises:
            ValidationError: a type or status that is not one of those.

        Example:
            >>> az.deployments.list(status="running").deployments
        """
        rules.check_choice(type, (*rules.TYPES, "all"), "type")
        if model is not None and not isinstance(model, str):
            raise ValidationError(f"The model is a name (text), got {model!r}.")
        if status is not None and not isinstance(status, str):
            raise ValidationError(f"status must be one of {', '.join(sorted(_STATUS_FILTERS))}.")
        if status and status.lower() not in _STATUS_FILTERS:
            raise ValidationError(f"--status must be one of {', '.join(sorted(_STATUS_FILTERS))}.")
        found = [
            d
            for d in self.all(refresh=True)  # states move on their own: never list stale ones
            if (not model or d.model_name.lower() == model.lower())
            and (type == "all" or d.type == type)
            and (not status or d.status.lower() == status.lower())
        ]
        return DeploymentList(found)

    def get(self, name: str) -> Deployment:
        """One deployment as ARM has it now.

        Args:
            name: the deployment's name.

        Returns:
            The Deployment: model, SKU, capacity, state.

        Raises:
            NotFoundError: no deployment of that name (close names are suggested).

        Example:
            >>> az.deployments.get("chat").capacity
            2
        """
        try:
            return self.arm.get_deployment(name)
        except NotFoundError:
            raise NotFoundError(
                f"No deployment named '{name}' in account {self.arm.account}.{self._suggest(name)}",
                code="DeploymentNotFound",
                steps=[NextStep.of("deployments list")],
            ) from None

    def _suggest(self, name: str) -> str:
        """Close names, or how to list them ({0}: the `get` error's step)."""
        names = [d.name for d in self.all()]
        return did_you_mean(name, names, "{0} shows them.")

    def api_key(self) -> str:
        """The account key that deployments' endpoints accept in the `api-key` header.

        A secret, for code only: put it where the snippets read it,
        `os.environ["AZURE_AI_API_KEY"] = az.deployments.api_key()`, never into output.

        Returns:
            The account's first key.

        Raises:
            NotFoundError: the account has no key (key access is disabled).

        Example:
            >>> os.environ["AZURE_AI_API_KEY"] = az.deployments.api_key()
        """
        keys = self.arm.list_keys()
        if not keys:
            raise NotFoundError(f"Account {self.arm.account} has no API key (keys are disabled).")
        return keys[0]

    def endpoint(self, name: str, arm=None) -> str:
        """OpenAI/v1 chat completions, for every model (EVIDENCE.md section 5: "All catalog models
        support the OpenAI/v1 API"; the Model Inference beta retired on 2026-08-26); the body's
        `model` names the deployment.

        Args:
            name: the deployment (the URL is the account's; requests name it in `model`).
            arm: the account's client (default: the connected account's).

        Returns:
            The URL of the chat completions endpoint.

        Example:
            >>> az.deployments.endpoint("chat")
            'https://contoso.services.ai.azure.com/openai/v1/chat/completions'
        """
        arm = arm or self.arm
        base = self.cache.get(f"account-endpoint:{arm.account}", arm.endpoint).rstrip("/")
        return f"{base}/openai/v1/chat/completions"

    def details(
        self, deployment: Deployment, *, metrics: bool = False, arm=None
    ) -> DeploymentDetails:
        """A deployment with where to call it.

        Args:
            deployment: the deployment (e.g. from `get`).
            metrics: also read its request metrics of the last 24 hours.
            arm: its account's client (default: the connected account's).

        Returns:
            DeploymentDetails: the deployment, its region and endpoint (and metrics).

        Example:
            >>> az.deployments.details(az.deployments.get("chat")).endpoint
        """
        arm = arm or self.arm
        return DeploymentDetails(
            deployment=deployment,
            region=arm.location,
            endpoint=self.endpoint(deployment.name, arm),
            metrics=self.metrics(deployment.name) if metrics else None,
        )

    def show(self, name: str) -> DeploymentDetails:
        """One deployment in full: as `details`, with its metrics when they can be read (a
        note says why when not).

        Args:
            name: the deployment's name.

        Returns:
            DeploymentDetails (a card in a notebook, with code to call it).

        Raises:
            NotFoundError: no deployment of that name.

        Example:
            >>> az.deployments.show("chat").endpoint
        """
        details = self.details(self.get(name))
        try:
            details.metrics = self.metrics(name)
        except AzModelsError as exc:  # the deployment is still worth showing
            details.notes.append(f"Metrics unavailable: {exc}")
        return details

    def metrics(self, name: str, *, hours: int = 24) -> DeploymentMetrics:
        """A deployment's hourly request metrics (requests, time to response, client and
        server errors) from Azure Monitor.

        Args:
            name: the deployment's name.
            hours: how far back to read, up to the current hour.

        Returns:
            DeploymentMetrics: one point per metric and hour.

        Example:
            >>> az.deployments.metrics("chat", hours=6).points
        """
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        start = end - timedelta(hours=hours)
        body = self.arm.metrics(
            name,
            names=list(METRICS),
            timespan=f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}",
        )
        return _parse_metrics(name, body)

    # -- deploy ---------------------------------------------------------------------------------

    def base_of(self, model: CustomModel) -> BaseModel | None:
        """The catalog entry of a custom model's base model (matched by the asset id's model
        name) when it is hosted as custom weights are: format `Fireworks` (the FW-* catalog
        models; custom weights draw on AIServices.GlobalProvisionedManaged.Fireworks). An
        OpenAI base model's SKUs (gpt-4o's PTUs, 15 in steps of 5) say nothing of them. None
        when there is no such entry.

        Args:
            model: the custom model.

        Returns:
            The base model's catalog entry, or None.

        Example:
            >>> az.deployments.base_of(az.models.find("my-llama", type="custom"))
        """
        name = rules.base_model_name(model.base_model)
        found = self.models.base_versions(name) if name else []
        hosted = [m for m in found if m.format.lower() == "fireworks"]
        return hosted[0] if hosted else None

    def skus_for(self, model: BaseModel | CustomModel) -> tuple[SkuOption, ...]:
        """What the service advertises for the model: its catalog SKUs, or a custom model's base
        model's; () when nothing is advertised (no list of our own).

        Args:
            model: a base or custom model (e.g. from `az.models.find`).

        Returns:
            The SKUs, each with its capacity range.

        Example:
            >>> [s.name for s in az.deployments.skus_for(az.models.find("gpt-4o"))]
        """
        if isinstance(model, BaseModel):
            return model.skus
        base = self.base_of(model)
        return base.skus if base is not None else ()

    def check_sku(
        self, model: BaseModel | CustomModel, sku: str | None, capacity: int | None
    ) -> tuple[SkuOption, int]:
        """The SKU and capacity a deploy of `model` would use, checked against what is
        offered.

        Args:
            model: a base or custom model.
            sku: the SKU asked for (default: the model's default SKU; a custom model's:
                the `custom_sku` setting).
            capacity: the capacity asked for (default: the SKU's default).

        Returns:
            (the SKU option, the capacity).

        Raises:
            ValidationError: a SKU not offered, no SKU to deploy with, or a capacity outside
                the SKU's range; the message lists what is allowed.

        Example:
            >>> az.deployments.check_sku(az.models.find("gpt-4o"), "GlobalStandard", 10)
        """
        options = self.skus_for(model)
        allowed = "; ".join(f"{s.name} ({s.capacity.describe()})" for s in options)
        if isinstance(model, CustomModel):
            sku = sku or self.custom_sku
            if not options:  # nothing advertised: send it, the service decides
                units = rules.CUSTOM_CAPACITY if capacity is None else capacity
                return _custom_usage(SkuOption(sku, _UNKNOWN_RANGE)), units
        if sku:
            chosen = next((s for s in options if s.name.lower() == sku.lower()), None)
            if chosen is None:
                base = None if isinstance(model, BaseModel) else self.base_of(model)
                of = f" (base model {base.name})" if base is not None else ""
                raise ValidationError(
                    f"SKU '{sku}' is not offered for {model.type} model '{model.name}'{of}: "
                    f"choose one of {allowed}."
                )
        else:
            chosen = model.default_sku
            if chosen is None:
                raise ValidationError(f"Base model '{model.name}' offers no SKU to deploy with.")
        units = chosen.capacity.default if capacity is None else capacity
        problem = chosen.capacity.problem(units)
        if problem:
            raise ValidationError(
                f"For {chosen.name}, {problem}: choose a capacity in {chosen.capacity.describe()}."
            )
        return (_custom_usage(chosen) if isinstance(model, CustomModel) else chosen), units

    def deploy(
        self,
        *,
        model: str,
        deployment_name: str,
        type: str | None = None,
        sku: str | None = None,
        capacity: int | None = None,
        region: str | None = None,
        version: str | None = None,
        model_format: str | None = None,
        wait: bool = True,
        on_status: Callable[[str], None] | None = None,
    ) -> DeploymentDetails:
        """Deploy a base or custom model, after checking the SKU, capacity, quota and region.
        Running the same deploy again adopts the deployment it made (e.g. after "accepted,
        state unknown") instead of refusing; a creation that fails is removed again.

        Args:
            model: the model's name (custom models first, then the catalog).
            deployment_name: the new deployment's name.
            type: "base" or "custom", when a name is both.
            sku: the SKU (default: the model's default; a custom model's: `custom_sku`).
            capacity: the capacity (default: the SKU's default).
            region: deploy through your account in this region (default: the connected one's).
            version: the model's version (default: the newest or the catalog's default).
            model_format: the model format sent (default: the catalog's; FireworksCustom for a
                custom model).
            wait: wait until it is ready (False: return once it is accepted).
            on_status: called with each state the deployment goes through.

        Returns:
            DeploymentDetails: the deployment, region and endpoint; `state_unknown` says why
            when the service accepted it but its outcome could not be followed.

        Raises:
            ValidationError: a bad name, SKU, capacity or format, a model not yet registered,
                or a region with no account of yours.
            NotFoundError: no such model or version.
            ConflictError: a different deployment of that name exists.
            QuotaExceededError: not enough quota or capacity (the message names where it fits).
            OperationFailedError: the service said the creation failed (it was removed).

        Example:
            >>> az.deployments.deploy(model="gpt-4o", deployment_name="chat", capacity=2)
        """
        rules.check(rules.deployment_name, deployment_name)
        _check_deploy_values(type=type, sku=sku, capacity=capacity, region=region)
        if model_format is not None:
            if not isinstance(model_format, str):
                raise ValidationError(f"The model format must be text, got {model_format!r}.")
            rules.check(rules.model_format, model_format)
        target = self.models.find(model, type=type, version=version)
        if isinstance(target, CustomModel) and not target.ready:
            raise ValidationError(
                f"Custom model '{target.name}' version {target.version} is {target.status}, "
                "not registered yet: deploy it once its registration has succeeded."
            )
        chosen, units = self.check_sku(target, sku, capacity)
        # The account to look in first: re-running the same deploy adopts what it made (which
        # already holds its quota), so the quota pre-check comes only before a new PUT.
        arm = deploy_check.account_for_region(self.quota, region)
        body = self._model_body(target, model_format)
        try:
            existing = arm.get_deployment(deployment_name)
        except NotFoundError:
            existing = None
        if existing is not None and not _adoptable(existing, body, chosen.name, units):
            raise ConflictError(
                f"Deployment '{deployment_name}' already exists ({existing.model_name} "
                f"{existing.model_version}, {existing.sku} x {existing.capacity}, "
                f"{existing.status}): choose another --deployment-name, or change it with "
                "{0}.",
                code="DeploymentExists",
                steps=[NextStep.of("deployments scale", deployment_name, capacity="N")],
            )
        if existing is not None:
            # The same deploy ran before (perhaps reported as accepted, state unknown): adopt it.
            details = self._adopt(arm, existing, wait, on_status)
        else:
            arm = deploy_check.check_before_deploy(
                self.quota, target, chosen, units, region, deployment_name
            )
            operation = arm.put_deployment(
                deployment_name, sku=chosen.name, capacity=units, model=body
            )
            self.cache.invalidate("deployments")
            details = self._follow_deploy(arm, operation, deployment_name, wait, on_status)
        if isinstance(target, BaseModel) and target.retired:
            details.notes.append(
                f"{target.name} {target.version} retired on {target.inference_deprecation[:10]}"
                " (the catalog still lists it): the service may stop serving it at any time;"
                " deploy a newer version."
            )
        return details

    def _model_body(self, target: BaseModel | CustomModel, model_format: str | None):
        """properties.model: a custom model's format is a custom one, with model.source = the
        project's ARM id (azd PR 7283: source is set for custom formats)."""
        custom = isinstance(target, CustomModel)
        fmt = model_format or (rules.CUSTOM_FORMAT if custom else target.format)
        if custom != rules.is_custom_format(fmt):
            what = "a custom format such as FireworksCustom" if custom else f"'{target.format}'"
            raise ValidationError(
                f"--model-format {fmt}: {target.type} model '{target.name}' deploys with {what}."
            )
        body: dict[str, Any] = {"format": fmt, "name": target.name}
        if target.version:
            body["version"] = target.version
        if custom:
            body["source"] = self.connection.project_id
        return body

    @staticmethod
    def _reporter(arm, name: str, on_status: Callable[[str], None] | None):
        """A status callback reporting the deployment's own state as the operation moves."""
        if on_status is None:
            return None

        def report(op_status: str) -> None:
            try:
                on_status(arm.get_deployment(name).provisioning_state or op_status)
            except NotFoundError:
                on_status("Deleted")
            except AzModelsError:  # a status line is not worth failing the wait for
                on_status(op_status)

        return report

    def _remove_failed(self, arm, name: str) -> None:
        # The failure being reported matters more than the cleanup's own.
        with contextlib.suppress(AzModelsError):
            arm.delete_deployment(name, context=f"Clean up '{name}'").wait()

    # -- change ---------------------------------------------------------------------------------

    def capacity_range(self, deployment: Deployment) -> SkuOption:
        """The SKU a deployment runs on, with the capacity range it may be scaled within.

        Args:
            deployment: the deployment.

        Returns:
            Its SKU option (a custom model without advertised SKUs: any capacity).

        Raises:
            ValidationError: the range cannot be told (its model is not in the catalog).

        Example:
            >>> az.deployments.capacity_range(az.deployments.get("chat")).capacity.describe()
        """
        if deployment.type == CUSTOM:
            model = self._custom_of(deployment)
            options = self.skus_for(model) if model is not None else ()
            found = next((s for s in options if s.name.lower() == deployment.sku.lower()), None)
            # Nothing advertised (no base model in the catalog): the service decides.
            return _custom_usage(found or SkuOption(deployment.sku, _UNKNOWN_RANGE))
        else:
            models = [
                m
                for m in self.models.base_versions(deployment.model_name)
                if not deployment.model_version or m.version == deployment.model_version
            ]
            options = models[0].skus if models else ()
        found = next((s for s in options if s.name.lower() == deployment.sku.lower()), None)
        if found is None:
            raise ValidationError(
                f"Cannot tell the capacity range of SKU {deployment.sku} for "
                f"'{deployment.model_name}'."
            )
        return found

    def _custom_of(self, deployment: Deployment) -> CustomModel | None:
        try:
            found = self.models.find(
                deployment.model_name, type=CUSTOM, version=deployment.model_version or None
            )
        except NotFoundError:
            return None
        return found if isinstance(found, CustomModel) else None

    def check_capacity(self, deployment: Deployment, capacity: int) -> None:
        """Check that a deployment may be scaled to `capacity` now.

        Args:
            deployment: the deployment.
            capacity: the capacity asked for.

        Raises:
            ConflictError: it is being created, changed or deleted.
            ValidationError: the capacity is outside its SKU's range.

        Example:
            >>> az.deployments.check_capacity(az.deployments.get("chat"), 5)
        """
        name = deployment.name
        busy = {"deleting": "Deleting"}.get(
            deployment.provisioning_state.lower(),
            "Creating" if deployment.status == "Creating" else "",
        )
        if _changing(deployment):
            busy = "being changed"
        if busy:
            raise ConflictError(f"Deployment '{name}' is {busy}: scale it once that has finished.")
        sku = self.capacity_range(deployment)
        problem = sku.capacity.problem(capacity)
        if problem:
            raise ValidationError(
                f"Cannot scale '{name}' from {deployment.capacity}: for {sku.name}, {problem}. "
                f"Choose a capacity in {sku.capacity.describe()}."
            )

    def scale(
        self,
        name: str,
        *,
        capacity: int,
        wait: bool = True,
        on_status: Callable[[str], None] | None = None,
    ) -> ScaleReport:
        """Change a deployment's capacity, after checking its range and quota. Run again after
        "accepted, state unknown", it waits for the change in flight.

        Args:
            name: the deployment's name.
            capacity: the new capacity.
            wait: wait until the change is done (False: return once it is accepted).
            on_status: called with each state the deployment goes through.

        Returns:
            ScaleReport: the deployment after the change, the `previous` and `target`
            capacity, and `state_unknown` when the outcome could not be followed.

        Raises:
            NotFoundError: no deployment of that name.
            ValidationError: a capacity outside the SKU's range.
            ConflictError: the deployment is being created, changed or deleted.
            QuotaExceededError: not enough quota for the new capacity.

        Example:
            >>> az.deployments.scale("chat", capacity=3).deployment.capacity
            3
        """
        rules.check_capacity(capacity)
        deployment = self.settled(name)
        self.check_capacity(deployment, capacity)
        if capacity == deployment.capacity:
            return ScaleReport(deployment, deployment.capacity, capacity, waited=True)
        arm = deploy_check.check_before_scale(
            self.quota, deployment, capacity, self.capacity_range(deployment)
        )
        operation = arm.patch_deployment(name, sku=deployment.sku, capacity=capacity)
        self.cache.invalidate("deployments")
        unknown = self._follow(arm, operation, name, on_status) if wait else ""
        after = deployment
        if wait and not unknown:
            try:
                after = arm.get_deployment(name)
            except AzModelsError as exc:
                unknown = _reason(exc)
        return ScaleReport(after, deployment.capacity, capacity, waited=wait and not unknown,
                           state_unknown=unknown)  # fmt: skip

    def delete(
        self, name: str, *, wait: bool = True, on_status: Callable[[str], None] | None = None
    ) -> str:
        """Delete a deployment (the model stays).

        Args:
            name: the deployment's name.
            wait: wait until it is gone (False: return once it is accepted).
            on_status: called with each state while it is deleted.

        Returns:
            One line for people: what was deleted, or that the deletion was accepted and its
            state is unknown.

        Raises:
            NotFoundError: no deployment of that name.

        Example:
            >>> az.deployments.delete("chat")
            "Deleted deployment 'chat'. The model gpt-4o 2024-11-20 is not deleted."
        """
        deployment = self.get(name)
        operation = self.arm.delete_deployment(name)
        self.cache.invalidate("deployments")
        if wait and operation.status_code != 204:
            unknown = self._follow(self.arm, operation, name, on_status)
            if unknown:
                return accepted_text("delete", name, unknown)
        return (
            f"Deleted deployment '{name}'. The model {deployment.model_name} "
            f"{deployment.model_version} is not deleted."
        )

    # -- accepted, state unknown ----------------------------------------------------------------

    def _follow(self, arm, operation: Operation, name: str, on_status, *, cleanup=False) -> str:
        """Wait for an accepted operation; "" when it succeeded, else why its state is unknown.

        The service said Failed/Canceled: that is a real failure and is raised (after removing a
        failed creation when `cleanup`). Anything else going wrong while following (polls
        failing, the wait timing out) leaves the change accepted and its outcome unknown, which
        is not a failure of the command (`Operation.follow`)."""
        try:
            return operation.follow(on_status=self._reporter(arm, name, on_status))
        except OperationFailedError:
            if cleanup:
                self._remove_failed(arm, name)
            raise
        finally:
            self.cache.invalidate("deployments")

    def _follow_deploy(
        self, arm, operation: Operation, name: str, wait: bool, on_status
    ) -> DeploymentDetails:
        unknown = ""
        if wait:
            unknown = self._follow(arm, operation, name, on_status, cleanup=True)
        accepted = _accepted_deployment(operation)
        try:
            deployment = arm.get_deployment(name)
        except AzModelsError as exc:
            if accepted is None:
                accepted = Deployment.from_rest({"name": name, "properties": {}})
            deployment, unknown = accepted, unknown or _reason(exc)
        return self._details_after(arm, deployment, unknown)

    def _adopt(self, arm, existing: Deployment, wait: bool, on_status) -> DeploymentDetails:
        """An existing deployment with this deploy's spec: followed to its end by reading it
        (no operation to poll: the one that created it belonged to an earlier run)."""
        name, deployment, unknown = existing.name, existing, ""
        plane = arm.plane

        def read() -> Deployment:
            try:
                found = arm.get_deployment(name)
            except NotFoundError:
                raise OperationFailedError(
                    f"Deploy '{name}' ended: the deployment was deleted while it was being created."
                ) from None
            if on_status is not None:
                on_status(found.provisioning_state)
            return found

        if wait:
            try:
                deployment = poll_until(
                    read,
                    lambda d: d.status != "Creating",
                    first=existing,
                    interval=lambda _: plane.poll_interval,
                    timeout=plane.operation_timeout,
                    clock=plane.clock,
                    what=f"Deploy '{name}'",
                )
            except OperationFailedError:
                raise
            except AzModelsError as exc:  # polls failing or the wait timing out
                unknown = _reason(exc)
        if deployment.status == "Failed":  # the creation this run waited for failed
            self._remove_failed(arm, name)  # as a deploy that saw its own creation fail does
            self.cache.invalidate("deployments")
            raise OperationFailedError(
                f"Deploy '{name}' ended {deployment.provisioning_state}: the deployment was "
                "removed; run the command again to retry."
            )
        return self._details_after(arm, deployment, unknown)

    def _details_after(self, arm, deployment: Deployment, unknown: str) -> DeploymentDetails:
        """Details of a deployment the service has accepted: nothing here may fail the command."""
        try:
            endpoint = self.endpoint(deployment.name, arm)
            notes: list[str] = []
        except AzModelsError as exc:
            endpoint, notes = "", [f"Endpoint unavailable: {exc}"]
        return DeploymentDetails(
            deployment=deployment,
            region=arm.location,
            endpoint=endpoint,
            notes=notes,
            state_unknown=unknown,
        )

    def settled(self, name: str) -> Deployment:
        """The deployment once an update in flight has finished (a re-run of a scale whose
        outcome was unknown waits for it rather than refusing), bounded by the plane's
        operation timeout; a deployment in any other state is returned as it is.

        Args:
            name: the deployment's name.

        Returns:
            The deployment, settled or as it was when the wait ran out.

        Raises:
            NotFoundError: no deployment of that name.

        Example:
            >>> az.deployments.settled("chat").status
            'Running'
        """
        plane = self.arm.plane
        try:
            return poll_until(
                lambda: self.get(name),
                lambda d: not _changing(d),
                first=self.get(name),
                interval=lambda _: plane.poll_interval,
                timeout=plane.operation_timeout,
                clock=plane.clock,
                what=f"The change to '{name}'",
            )
        except OperationTimeoutError:
            return self.get(name)  # still changing: returned as it is


def _check_deploy_values(*, type, sku, capacity, region) -> None:
    """What the grammar checks for `deploy`, for values given through the Python API."""
    rules.check_choice(type, (None, *rules.TYPES), "type")
    if capacity is not None:
        rules.check_capacity(capacity)
    for what, value in (("sku", sku), ("region", region)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValidationError(f"The {what} must be text, got {value!r}.")


def _reason(exc: AzModelsError) -> str:
    return str(exc).rstrip(".")


def _accepted_deployment(operation: Operation) -> Deployment | None:
    """The deployment as the service's answer to the PUT described it, if it did."""
    body = operation.initial
    return Deployment.from_rest(body) if body.get("name") else None


def _adoptable(existing: Deployment, model: dict[str, Any], sku: str, capacity: int) -> bool:
    """True when an existing deployment is what this deploy would create (same model, version,
    source, SKU and capacity), running or still being created: deploying again adopts it. A
    failed, stopped or changing one is left alone (refused as before)."""
    return (
        existing.model_name.lower() == str(model.get("name", "")).lower()
        and existing.model_version == str(model.get("version") or existing.model_version)
        and existing.model_source.lower() == str(model.get("source") or "").lower()
        and existing.sku.lower() == sku.lower()
        and existing.capacity == capacity
        and existing.status in ("Running", "Creating")
        and not _changing(existing)
    )


def _changing(deployment: Deployment) -> bool:
    """A change (scale) in flight. ARM 2025-06-01 has no Updating (DeploymentProvisioningState:
    Accepted, Creating, Deleting, Moving, ...): an accepted change reads Accepted while the
    deployment still serves (deploymentState Running); older answers said Updating."""
    state = deployment.provisioning_state.lower()
    return state == "updating" or (state == "accepted" and deployment.deployment_state == "Running")


def _custom_usage(sku: SkuOption) -> SkuOption:
    """A custom deployment's SKU with the usage it draws on: GlobalProvisionedManaged draws on the
    Fireworks PTU quota (rules.CUSTOM_PTU_USAGE); other SKUs on their catalog usage, if any."""
    if sku.name.lower() == rules.CUSTOM_SKU.lower():
        return dataclasses.replace(sku, usage_name=rules.CUSTOM_PTU_USAGE)
    return sku


def _parse_metrics(name: str, body: dict[str, Any]) -> DeploymentMetrics:
    series: dict[str, dict[str, float]] = {}
    for metric in body.get("value") or []:
        metric_name = (metric.get("name") or {}).get("value", "")
        # Both aggregations are asked for: latency is an average (its total is a sum of
        # latencies, and an hour without requests has none), the others are counts.
        latency = metric_name == "TimeToResponse"
        values: dict[str, float] = {}
        for ts in metric.get("timeseries") or []:
            for point in ts.get("data") or []:
                stamp = point.get("timeStamp")
                value = point.get("average" if latency else "total")
                if value is None and not latency:
                    value = point.get("average")
                if stamp and value is not None:
                    values[stamp] = values.get(stamp, 0.0) + float(value)
                elif stamp:
                    values.setdefault(stamp, float("nan"))
        series[metric_name] = values
    stamps = sorted({s for values in series.values() for s in values})
    points = []
    for stamp in stamps:
        latency = series.get("TimeToResponse", {}).get(stamp)
        points.append(
            MetricPoint(
                time=datetime.fromisoformat(stamp.replace("Z", "+00:00")),
                requests=_count(series.get("ModelRequests", {}).get(stamp)),
                average_latency_ms=None if latency is None or latency != latency else latency,
                client_errors=_count(series.get("ClientErrors", {}).get(stamp)),
                server_errors=_count(series.get("ServerErrors", {}).get(stamp)),
            )
        )
    return DeploymentMetrics(deployment=name, points=points)


def _count(value: float | None) -> int:
    if value is None or value != value:  # missing or NaN
        return 0
    return round(value)
