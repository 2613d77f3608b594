"""Typed records the services return. Presentation turns them into DataFrames, cards and text.

The clients build these from REST JSON (the `from_rest` constructors); nothing above the clients
sees raw JSON. No record holds a secret: blob URIs are stored without their query string.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from .redaction import strip_query
from .sizes import human_size

BASE, CUSTOM = "base", "custom"


def region_key(region: str) -> str:
    """'West US 2', 'westus2' and 'WestUS2' are one region: how every region is compared and
    kept."""
    return region.replace(" ", "").lower()


# Tags under this prefix are azmodels' own record of what was uploaded (format, size, digests).
META_PREFIX = "azmodels."


def _built(cls: type, values: dict[str, Any]) -> Any:
    """A frozen record filled without its __init__, which sets each field through
    object.__setattr__: a catalog list builds tens of thousands of records and SKUs at once.
    Fields `values` leaves out get their defaults, as with __init__."""
    defaults = _DEFAULTS.get(cls)
    if defaults is None:
        plain = {f.name: f.default for f in fields(cls) if f.default is not MISSING}
        made = [
            (f.name, f.default_factory) for f in fields(cls) if f.default_factory is not MISSING
        ]
        defaults = _DEFAULTS[cls] = (plain, made)
    record = object.__new__(cls)
    state = record.__dict__
    state.update(defaults[0])
    state.update(values)
    for name, factory in defaults[1]:
        if name not in state:
            state[name] = factory()
    return record


_DEFAULTS: dict[type, tuple[dict[str, Any], list[tuple[str, Any]]]] = {}


class Displayable:
    """A record shown as a card (HTML in a notebook, text in a terminal or IPython console).

    The record holds data only: presentation builds its card (`presentation.cards.card_for`),
    IPython shows it through the formatters `presentation.display.install` registers, and the
    CLI prints the card's text."""


@dataclass(frozen=True)
class WeightFile:
    """One file of a model's weights: where it is on disk and where it goes in the container."""

    path: Path  # absolute path on this machine
    relative: str  # posix path inside the model folder; the blob name
    size: int  # bytes
    mtime_ns: int  # with path and size, the identity a resumed upload checks

    # As a `sources.SourceFile` (a local source's files are these): nothing declared (the
    # digest is computed while uploading), and the mtime is what changes with the bytes.
    declared_sha256 = None

    @property
    def version(self) -> str:
        return str(self.mtime_ns)


# Where an upload's bytes come from (implementations in `sources`): the types live here, in
# the core, so records and results can name them.
@dataclass(frozen=True)
class SourceFile:
    """One file of a source, named as it will be below the model's folder in storage."""

    relative: str  # '/'-separated path inside the source; becomes the blob name's tail
    size: int  # bytes
    # The SHA-256 the source itself declares (a hub's LFS digest, blob metadata), lowercase hex;
    # None when nobody declared one (local files: their digest is computed while uploading).
    declared_sha256: str | None = None
    # What changes when the file changes (an ETag; locally size and mtime): reads and copies are
    # made conditional on it, so a source changed mid-upload is noticed, never mixed.
    version: str | None = None


class Source(Protocol):
    """An upload's source. Implementations: `sources.local` (this machine); remote ones add a
    module each."""

    kind: str  # "local", "url", "blob", "hub"
    display: str  # how messages name it: never holds a secret (no SAS query, no token)
    # A model's folder (a local folder, a container prefix, a hub repository), not one file:
    # a folder may hold configs and tokenizers next to the weights, and its JSON is checked.
    folder: bool

    def files(self) -> tuple[SourceFile, ...]:
        """Every file to upload, weights and the rest, sorted by relative path."""
        ...

    def open(self, file: SourceFile) -> BinaryIO:
        """A seekable binary reader of `file` (headers are read from it, digests computed)."""
        ...

    def check_unchanged(self, file: SourceFile, reader: BinaryIO) -> None:
        """Raise UploadError when `file` changed while `reader` (from `open`) read it: called
        after its last byte is read, before it may be committed (a source whose reads are
        conditional on `version` may have nothing left to check)."""
        ...

    def copy_url(self, file: SourceFile) -> str | None:
        """A URL the storage service can read `file` from for a server-side copy (Put Block From
        URL), or None when the bytes must pass through this machine (a local file)."""
        ...


@dataclass(frozen=True)
class WeightsInfo:
    """What `inspect_source` learnt about a model's weights, without loading a tensor."""

    source: Source  # where the bytes come from (`display` names it)
    format: str  # one of SUPPORTED_FORMATS
    files: tuple[SourceFile, ...]  # every file to upload, weights and the rest, by relative path
    weight_files: tuple[str, ...]  # relative paths of the files in `format`
    total_size: int  # bytes of all `files`
    details: dict[str, Any] = field(default_factory=dict)  # what the headers tell; JSON-ready

    def summary(self) -> str:
        """One line, e.g. "safetensors, 3 files, 1.2 GB, 124,439,808 parameters (F16, F32)"."""
        d = self.details
        count = len(self.files)
        parts = [
            self.format,
            f"{count} file{'' if count == 1 else 's'}",
            human_size(self.total_size),
        ]
        if "parameter_count" in d:
            kinds = d.get("dtypes") or ([d["quantization"]] if d.get("quantization") else [])
            text = f"{d['parameter_count']:,} parameters"
            parts.append(f"{text} ({', '.join(kinds)})" if kinds else text)
        if d.get("opset") is not None:
            parts.append(f"opset {d['opset']}")
        if d.get("producer_name"):
            parts.append(f"from {d['producer_name']}")
        if d.get("container"):
            parts.append(f"{d['container']} container")
        architecture = ", ".join(d.get("architectures") or []) or d.get("architecture")
        if architecture:
            parts.append(f"architecture {architecture}")
        return ", ".join(parts)


@dataclass(frozen=True)
class StoredFile:
    """One file of a model as storage holds it."""

    path: str  # the blob name: the path relative to the uploaded folder
    size: int
    sha256: str | None  # None: stored by something other than azmodels
    # How the SHA-256 is known: "computed" from the bytes, or "declared" by the source storage
    # copied the file from (upload --source hf://..., a URL): nobody here computed it.
    sha256_basis: str = "computed"


@dataclass(frozen=True)
class CapacityRange:
    """What capacity a SKU accepts: minimum..maximum on `step`, or only `allowed` values."""

    minimum: int = 1
    maximum: int = 1
    step: int = 1
    default: int = 1
    allowed: tuple[int, ...] = ()

    @classmethod
    def from_rest(cls, body: dict[str, Any] | None) -> CapacityRange:
        body = body or {}
        minimum = int(body.get("minimum") or 1)
        allowed = body.get("allowedValues")
        return _built(
            cls,
            {
                "minimum": minimum,
                "maximum": int(body.get("maximum") or minimum),
                "step": max(1, int(body.get("step") or 1)),
                "default": int(body.get("default") or minimum),
                "allowed": tuple([int(v) for v in allowed]) if allowed else (),
            },
        )

    def describe(self) -> str:
        if self.allowed:
            return "one of " + ", ".join(str(v) for v in self.allowed)
        step = f" in steps of {self.step}" if self.step > 1 else ""
        return f"{self.minimum}-{self.maximum}{step}"

    def problem(self, capacity: int) -> str | None:
        """Why `capacity` is not accepted, or None when it is."""
        if self.allowed and capacity not in self.allowed:
            return f"capacity {capacity} is not allowed ({self.describe()})"
        if capacity < self.minimum or capacity > self.maximum:
            return f"capacity {capacity} is outside {self.describe()}"
        if (capacity - self.minimum) % self.step:
            below = capacity - (capacity - self.minimum) % self.step
            nearest = " or ".join(str(v) for v in (below, below + self.step) if v <= self.maximum)
            return f"capacity {capacity} is not on the step ({self.describe()}); nearest: {nearest}"
        return None


@dataclass(frozen=True)
class SkuOption:
    """A SKU a model can be deployed with."""

    name: str
    capacity: CapacityRange
    usage_name: str = ""
    deprecation_date: str = ""

    @classmethod
    def from_rest(cls, body: dict[str, Any]) -> SkuOption:
        return _built(
            cls,
            {
                "name": body.get("name", ""),
                "capacity": CapacityRange.from_rest(body.get("capacity")),
                "usage_name": body.get("usageName") or "",
                "deprecation_date": body.get("deprecationDate") or "",
            },
        )


def _past(stamp: str) -> bool:
    """Whether an ISO date or time has passed (False when there is none or it is unreadable)."""
    from datetime import UTC, datetime

    try:
        when = datetime.fromisoformat(stamp.strip().replace("Z", "+00:00"))
    except ValueError:
        return False
    return (when if when.tzinfo else when.replace(tzinfo=UTC)) <= datetime.now(UTC)


def _split_skus(skus: list[SkuOption]) -> tuple[tuple[SkuOption, ...], tuple[SkuOption, ...]]:
    """(SKUs to deploy the model, SKUs to deploy its fine-tuned derivatives). Real catalogs list
    e.g. gpt-4o's Standard twice: usages OpenAI.Standard.gpt-4o and ...gpt-4o-finetune."""
    base = [s for s in skus if not s.usage_name.lower().endswith("-finetune")]
    finetune = [s for s in skus if s.usage_name.lower().endswith("-finetune")]
    return _union(tuple(base), ()), _union(tuple(finetune), ())


def _union(first: tuple[SkuOption, ...], second: tuple[SkuOption, ...]) -> tuple[SkuOption, ...]:
    """The SKUs of both, each name once (the first seen wins), in order."""
    out: dict[str, SkuOption] = {}
    for sku in first + second:
        out.setdefault(sku.name.lower(), sku)
    return tuple(out.values())


@dataclass(frozen=True)
class BaseModel:
    """A model of the base catalog (ARM `Model`)."""

    name: str
    version: str
    format: str
    publisher: str
    description: str
    kind: str
    lifecycle_status: str
    is_default_version: bool
    max_capacity: int | None
    capabilities: dict[str, str] = field(default_factory=dict)
    finetune_capabilities: dict[str, str] = field(default_factory=dict)
    inference_deprecation: str = ""
    finetune_deprecation: str = ""
    catalog_asset_id: str = ""
    skus: tuple[SkuOption, ...] = ()
    type: str = BASE
    # The account kinds the catalog offers it to (AIServices, OpenAI, MaaS): ARM lists the same
    # model once per kind (a recorded eastus2 catalog: 436 entries for 218 model versions).
    kinds: tuple[str, ...] = ()
    # SKUs for deploying a fine-tuned derivative: same SKU names, usage names ending -finetune.
    finetune_skus: tuple[SkuOption, ...] = ()

    @classmethod
    def from_rest(cls, body: dict[str, Any]) -> BaseModel:
        model = body.get("model") or {}
        deprecation = model.get("deprecation") or {}
        skus, finetune = _split_skus([SkuOption.from_rest(s) for s in model.get("skus") or ()])
        kind = body.get("kind") or ""
        return _built(
            cls,
            {
                "name": model.get("name", ""),
                "version": str(model.get("version") or ""),
                "format": model.get("format") or "",
                "publisher": model.get("publisher") or model.get("format") or "",
                "description": body.get("description") or model.get("description") or "",
                "kind": body.get("kind") or "",
                "lifecycle_status": model.get("lifecycleStatus") or "",
                "is_default_version": bool(model.get("isDefaultVersion")),
                "max_capacity": model.get("maxCapacity"),
                "capabilities": dict(model.get("capabilities") or {}),
                "finetune_capabilities": dict(model.get("finetuneCapabilities") or {}),
                "inference_deprecation": deprecation.get("inference") or "",
                "finetune_deprecation": deprecation.get("fineTune") or "",
                "catalog_asset_id": model.get("modelCatalogAssetId") or "",
                "skus": skus,
                "kinds": (kind,) if kind else (),
                "finetune_skus": finetune,
            },
        )

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes one catalog model: format, name and version (case as ARM ignores it)."""
        return (self.format.lower(), self.name.lower(), self.version.lower())

    def merged(self, other: BaseModel) -> BaseModel:
        """This model as offered to this entry's kinds and `other`'s (the same model version):
        kinds and SKUs united, a SKU name once; fields this entry lacks taken from `other`."""
        values = dict(self.__dict__)
        values.pop("capability_names", None)  # a cached property, recomputed on use
        for name in ("description", "publisher", "catalog_asset_id", "lifecycle_status"):
            values[name] = values[name] or getattr(other, name)
        if values["max_capacity"] is None:
            values["max_capacity"] = other.max_capacity
        values["kinds"] = tuple(dict.fromkeys(self.kinds + other.kinds))
        values["skus"] = _union(self.skus, other.skus)
        values["finetune_skus"] = _union(self.finetune_skus, other.finetune_skus)
        return _built(BaseModel, values)

    @property
    def retired(self) -> bool:
        """Its inference retirement date has passed. The catalog goes on listing such versions
        as GenerallyAvailable (real catalogs: gpt-4o 2024-11-20, retiring 2026-10-01)."""
        return _past(self.inference_deprecation)

    @property
    def status(self) -> str:
        """The lifecycle, or Retired once the retirement date has passed."""
        return "Retired" if self.retired else self.lifecycle_status

    @cached_property
    def capability_names(self) -> list[str]:
        # "true" is how ARM spells it; the slower case-folding is only for odd spellings.
        caps = self.capabilities
        return sorted(k for k, v in caps.items() if v == "true" or str(v).lower() == "true")

    def sku(self, name: str) -> SkuOption | None:
        return next((s for s in self.skus if s.name.lower() == name.lower()), None)

    @property
    def default_sku(self) -> SkuOption | None:
        """GlobalStandard when offered (pay-as-you-go, widest availability), else the first."""
        return self.sku("GlobalStandard") or (self.skus[0] if self.skus else None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CustomModel:
    """A version of a model registered in the Foundry project."""

    name: str
    version: str
    description: str
    blob_uri: str  # without query: never a SAS
    weight_type: str
    base_model: str
    tags: dict[str, str]
    provisioning_state: str
    created_at: str
    created_by: str
    modified_at: str
    id: str = ""
    type: str = CUSTOM
    lora_config: dict[str, Any] = field(default_factory=dict)  # {rank, alpha, targetModules...}
    publisher_id: str = ""  # catalogInfo.publisherId (azd's --publisher)
    # What the service found in the weights (spec ModelVersion, read-only: EVIDENCE.md §1):
    # artifactProfile {category, signals} and warnings [{code, message}].
    artifact_category: str = ""
    artifact_signals: tuple[str, ...] = ()
    warnings: tuple[tuple[str, str], ...] = ()  # (code, message)

    @classmethod
    def from_rest(cls, body: dict[str, Any]) -> CustomModel:
        system = body.get("systemData") or {}
        derived = body.get("derivedModelInformation") or {}
        profile = (
            body.get("artifactProfile") if isinstance(body.get("artifactProfile"), dict) else {}
        )
        lora = body.get("loraConfig") if isinstance(body.get("loraConfig"), dict) else {}
        catalog = body.get("catalogInfo") if isinstance(body.get("catalogInfo"), dict) else {}
        signals = profile.get("signals") if isinstance(profile.get("signals"), list) else []
        warnings = body.get("warnings") if isinstance(body.get("warnings"), list) else []
        return cls(
            name=body.get("name", ""),
            version=str(body.get("version") or ""),
            description=body.get("description") or "",
            blob_uri=strip_query(body.get("blobUri") or ""),
            weight_type=body.get("weightType") or "",
            base_model=body.get("baseModel") or derived.get("baseModel") or "",
            tags={str(k): str(v) for k, v in (body.get("tags") or {}).items()},
            provisioning_state=body.get("provisioningState") or "Succeeded",
            created_at=system.get("createdAt") or "",
            created_by=system.get("createdBy") or "",
            modified_at=system.get("lastModifiedAt") or "",
            id=body.get("id") or "",
            lora_config=dict(lora),
            publisher_id=str(catalog.get("publisherId") or ""),
            artifact_category=str(profile.get("category") or ""),
            artifact_signals=tuple(str(s) for s in signals),
            warnings=tuple(
                (str(w.get("code") or ""), str(w.get("message") or ""))
                for w in warnings
                if isinstance(w, dict)
            ),
        )

    @property
    def warning_codes(self) -> str:
        """The warnings' codes, comma-separated (the DataFrame's `warnings` column)."""
        return ", ".join(code or "Warning" for code, _ in self.warnings)

    @property
    def user_tags(self) -> dict[str, str]:
        return {k: v for k, v in self.tags.items() if not k.startswith(META_PREFIX)}

    def meta(self, key: str, default: str = "") -> str:
        return self.tags.get(META_PREFIX + key, default)

    @property
    def format(self) -> str:
        return self.meta("format")

    @property
    def size(self) -> int | None:
        value = self.meta("size")
        return int(value) if value.isdigit() else None

    @property
    def status(self) -> str:
        return {"Succeeded": "Ready", "Creating": "Registering"}.get(
            self.provisioning_state, self.provisioning_state
        )

    @property
    def ready(self) -> bool:
        return self.provisioning_state == "Succeeded"

    @property
    def publisher(self) -> str:
        return self.created_by or "you"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Deployment:
    """An ARM deployment of a base or custom model."""

    name: str
    model_name: str
    model_version: str
    model_format: str
    model_source: str  # the project ARM id for a custom model, "" for a base model
    sku: str
    capacity: int
    provisioning_state: str
    deployment_state: str
    created_at: str
    modified_at: str
    capabilities: dict[str, str] = field(default_factory=dict)
    rate_limits: tuple[dict[str, Any], ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    id: str = ""

    @classmethod
    def from_rest(cls, body: dict[str, Any]) -> Deployment:
        props = body.get("properties") or {}
        model = props.get("model") or {}
        sku = body.get("sku") or {}
        system = body.get("systemData") or {}
        return cls(
            name=body.get("name", ""),
            model_name=model.get("name", ""),
            model_version=str(model.get("version") or ""),
            model_format=model.get("format") or "",
            model_source=model.get("source") or "",
            sku=sku.get("name") or "",
            capacity=int(sku.get("capacity") or 0),
            provisioning_state=props.get("provisioningState") or "",
            deployment_state=props.get("deploymentState") or "",
            created_at=system.get("createdAt") or "",
            modified_at=system.get("lastModifiedAt") or "",
            capabilities=dict(props.get("capabilities") or {}),
            rate_limits=tuple(props.get("rateLimits") or ()),
            tags=dict(body.get("tags") or {}),
            id=body.get("id") or "",
        )

    @property
    def type(self) -> str:
        return CUSTOM if self.model_source else BASE

    @property
    def status(self) -> str:
        """One word: Running, Creating, Deleting, Failed or Stopped."""
        state = self.provisioning_state.lower()
        if state in ("accepted", "creating", "moving"):
            return "Creating"
        if state == "deleting":
            return "Deleting"
        if state == "updating":
            # A scale in progress: the deployment keeps serving, so it counts as running.
            return "Running" if self.deployment_state.lower() != "stopped" else "Stopped"
        if state in ("failed", "canceled"):
            return "Failed"
        if state == "disabled" or self.deployment_state.lower() in ("stopped", "paused"):
            return "Stopped"
        if state == "succeeded":
            return "Running"
        return self.provisioning_state or "Unknown"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _number(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


@dataclass(frozen=True)
class QuotaUsage:
    """One quota of the subscription in a region (ARM `Usage`): a usage name such as
    `OpenAI.GlobalStandard.gpt-4o` (format.SKU.model), how much of it is used and its limit."""

    region: str
    usage_name: str
    used: int
    limit: int
    unit: str = "Count"

    @classmethod
    def from_rest(cls, region: str, body: dict[str, Any]) -> QuotaUsage:
        name = body.get("name") or {}
        return cls(
            region=region,
            usage_name=str(name.get("value") if isinstance(name, dict) else name or ""),
            used=_number(body.get("currentValue")),
            limit=_number(body.get("limit")),
            unit=str(body.get("unit") or "Count"),
        )

    @property
    def parts(self) -> tuple[str, str, str]:
        """(format, SKU, model) read from the usage name; model is '' for shared usages."""
        pieces = self.usage_name.split(".", 2)
        pieces += [""] * (3 - len(pieces))
        return pieces[0], pieces[1], pieces[2]

    @property
    def sku(self) -> str:
        return self.parts[1]

    @property
    def model(self) -> str:
        return self.parts[2]

    @property
    def available(self) -> int:
        return max(0, self.limit - self.used)


@dataclass(frozen=True)
class ModelCapacity:
    """How much of a model's SKU a region can take now (ARM `modelCapacities`)."""

    region: str
    model_format: str
    model_name: str
    model_version: str
    sku: str
    available_capacity: int | None  # None: offered, capacity not reported (see QuotaService)

    @classmethod
    def from_rest(cls, body: dict[str, Any]) -> ModelCapacity:
        props = body.get("properties") or {}
        model = props.get("model") or {}
        return cls(
            region=region_key(str(body.get("location") or "")),
            model_format=str(model.get("format") or ""),
            model_name=str(model.get("name") or ""),
            model_version=str(model.get("version") or ""),
            sku=str(props.get("skuName") or body.get("name") or ""),
            available_capacity=_number(props.get("availableCapacity")),
        )


@dataclass(frozen=True)
class Account:
    """An AI Services / OpenAI account of the subscription (ARM `Account`)."""

    name: str
    resource_group: str
    region: str
    kind: str
    endpoint: str = ""
    provisioning_state: str = ""

    @classmethod
    def from_rest(cls, body: dict[str, Any]) -> Account:
        rid = str(body.get("id") or "")
        parts = rid.split("/")
        lowered = [p.lower() for p in parts]
        group = parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered else ""
        props = body.get("properties") or {}
        return cls(
            name=str(body.get("name") or ""),
            resource_group=group,
            region=region_key(str(body.get("location") or "")),
            kind=str(body.get("kind") or ""),
            endpoint=str(props.get("endpoint") or ""),
            provisioning_state=str(props.get("provisioningState") or ""),
        )


AnyModel = BaseModel | CustomModel  # what `find` returns: a model of the catalog or the registry
