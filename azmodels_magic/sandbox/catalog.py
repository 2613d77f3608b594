"""The sandbox's base-model catalog: ARM `Model` objects from data/catalog.json plus synthetic ones.

The catalog stays in memory with each entry pre-serialised, so a page of a 5,000-model catalog
is a string join. Lookups by (format, name) are case-insensitive like ARM's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from .log import get_logger

log = get_logger(__name__)

# What a custom (project-registered) model may be deployed with, as strict as the evidence
# (EVIDENCE.md section 4): azd PR 7283 (8f6041a0) deploys `FireworksCustom` with
# GlobalProvisionedManaged x 80; a hands-on report's refusal of that deploy names the quota
# "Global Provisioned Managed Throughput Unit - Fireworks", which is the localized name of usage
# AIServices.GlobalProvisionedManaged.Fireworks in ARM's canadacentral usages (azd recording
# Test_AIAgent_Init_NoPrompt_WithProject, 0eb01c02); minimum 80 PTU, increment 40 is
# gpt-oss-120b's (Fireworks PTU pricing). The maximum is the sandbox's choice.
CUSTOM_USAGE = "AIServices.GlobalProvisionedManaged.Fireworks"
CUSTOM_USAGE_LOCALIZED = "Global Provisioned Managed Throughput Unit - Fireworks"
CUSTOM_USAGE_DEFAULT_LIMIT = 400  # real subscriptions start at 0; tutorials need room for a few
CUSTOM_SKUS: list[dict[str, Any]] = [
    {
        "name": "GlobalProvisionedManaged",
        "usageName": CUSTOM_USAGE,
        "capacity": {"minimum": 80, "maximum": 1000, "step": 40, "default": 80},
        "rateLimits": [],
    },
]


def is_custom_format(fmt: str) -> bool:
    """A custom-weights format: FireworksCustom, or any format ending in Custom (azd PR 7283's
    isCustomModelFormat also takes any format containing "custom")."""
    return fmt.lower().endswith("custom") and fmt.lower() != "custom"


CUSTOM_CAPABILITIES = {"chatCompletion": "true"}


def is_finetune_sku(sku: dict[str, Any]) -> bool:
    """A SKU for the model's fine-tuned deployments: real catalogs list it beside the base SKU of
    the same name, its usage ending `-finetune` (`OpenAI.Standard.gpt-4o-finetune`)."""
    return str(sku.get("usageName") or "").lower().endswith("-finetune")


def base_skus(model: dict[str, Any]) -> list[dict[str, Any]]:
    """The SKUs a deployment of the model itself may take (fine-tune SKUs are not for it)."""
    return [sku for sku in model.get("skus") or [] if not is_finetune_sku(sku)]


# data/catalog.json is the catalog as of this day (its retirement dates are real ones: gpt-4o
# 2024-11-20 retires 2026-10-01 in the recorded eastus2 catalog). The packaged catalog's dates
# are served shifted by the days since, so the sandbox's catalog looks the same on every day it
# runs: what has retired (or soon will) stays so, and tutorials and tests do not rot.
CATALOG_AS_OF = date(2026, 12, 4)
_FAR = datetime(2099, 1, 1, tzinfo=UTC)  # "never": not shifted


def _shifted(stamp: Any, days: int) -> Any:
    if not isinstance(stamp, str) or not days:
        return stamp
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if when >= _FAR:
        return stamp
    return (when + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def as_of_today(entry: dict[str, Any], today: date | None = None) -> dict[str, Any]:
    """`entry` with its retirement dates moved by the days between CATALOG_AS_OF and today."""
    days = ((today or datetime.now(UTC).date()) - CATALOG_AS_OF).days
    model = entry["model"]
    deprecation = {k: _shifted(v, days) for k, v in (model.get("deprecation") or {}).items()}
    skus = [
        {**sku, "deprecationDate": _shifted(sku.get("deprecationDate"), days)}
        if "deprecationDate" in sku
        else sku
        for sku in model.get("skus") or []
    ]
    shifted = {**model, "skus": skus}
    if "deprecation" in model:
        shifted["deprecation"] = deprecation
    return {**entry, "model": shifted}


def load_packaged() -> list[dict[str, Any]]:
    """data/catalog.json, or an empty list (with a warning) when it is missing or unreadable."""
    try:
        text = resources.files("azmodels_magic.sandbox").joinpath("data/catalog.json").read_text()
    except (FileNotFoundError, OSError):
        log.warning("data/catalog.json is missing: the catalog only holds synthetic models")
        return []
    data = json.loads(text)
    if isinstance(data, dict):  # tolerate an ARM page {"value": [...]}
        data = data.get("value", [])
    return [
        as_of_today(entry)
        for entry in data
        if isinstance(entry, dict) and isinstance(entry.get("model"), dict)
    ]


def synthetic(index: int) -> dict[str, Any]:
    """A plausible catalog entry for scale tests."""
    name = f"synthetic-model-{index:05d}"
    return {
        "kind": "AIServices",
        "skuName": "S0",
        "description": f"Synthetic chat model #{index} generated by the azmodels sandbox.",
        "model": {
            "format": "Synthetic",
            "name": name,
            "version": "1",
            "publisher": "Azmodels Sandbox",
            "isDefaultVersion": True,
            "maxCapacity": 1000,
            "lifecycleStatus": "GenerallyAvailable",
            "capabilities": {"chatCompletion": "true", "maxContextToken": "8192"},
            "finetuneCapabilities": {},
            "deprecation": {"inference": "2099-12-31T00:00:00Z"},
            "modelCatalogAssetId": f"azureml://registries/azureml/models/{name}/versions/1",
            "skus": [
                {
                    "name": "GlobalStandard",
                    "usageName": "AIServices.GlobalStandard.Synthetic",
                    "deprecationDate": "2099-12-31T00:00:00Z",
                    "capacity": {"minimum": 1, "maximum": 1000, "step": 1, "default": 10},
                    "rateLimits": [
                        {"key": "request", "renewalPeriod": 10, "count": 1},
                        {"key": "token", "renewalPeriod": 60, "count": 1000},
                    ],
                    "cost": [],
                }
            ],
        },
    }


def version_key(version: str) -> tuple:
    """A sort key that orders "2" before "10" and numbers before words."""
    return tuple(
        (0, int(p), "") if p.isdigit() else (1, 0, p) for p in version.replace("-", ".").split(".")
    )


@dataclass
class Catalog:
    """The in-memory catalog."""

    entries: list[dict[str, Any]]
    serialised: list[str] = field(init=False, repr=False)
    _by_name: dict[tuple[str, str], list[dict[str, Any]]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.serialised = [json.dumps(entry, separators=(",", ":")) for entry in self.entries]
        self._by_name = {}
        for entry in self.entries:
            model = entry["model"]
            key = (str(model.get("format", "")).lower(), str(model.get("name", "")).lower())
            self._by_name.setdefault(key, []).append(entry)

    @classmethod
    def load(cls, synthetic_count: int = 0, path: str | Path | None = None) -> Catalog:
        if path:
            data = json.loads(Path(path).read_text())
            entries = data.get("value", []) if isinstance(data, dict) else data
        else:
            entries = load_packaged()
        entries = list(entries) + [synthetic(i) for i in range(synthetic_count)]
        return cls(entries)

    def __len__(self) -> int:
        return len(self.entries)

    def find(self, fmt: str, name: str, version: str | None) -> dict[str, Any] | None:
        """The entry for format/name and version (the default version when `version` is None)."""
        candidates = self._by_name.get((fmt.lower(), name.lower()), [])
        if version is not None:
            return next((e for e in candidates if str(e["model"].get("version")) == version), None)
        if not candidates:
            return None
        default = [e for e in candidates if e["model"].get("isDefaultVersion")]
        pool = default or candidates
        return max(pool, key=lambda e: version_key(str(e["model"].get("version", ""))))

    def has_name(self, name: str) -> bool:
        """True when some format carries a model of this name (for BaseModelNotFound checks)."""
        lowered = name.lower()
        return any(key[1] == lowered for key in self._by_name)
