"""Invariants of the sandbox's base-model catalog (sandbox/data/catalog.json)."""

import json
from collections import Counter
from pathlib import Path

import pytest

import azmodels_magic.sandbox
from azmodels_magic.sandbox.catalog import is_finetune_sku

CATALOG_PATH = Path(azmodels_magic.sandbox.__file__).parent / "data" / "catalog.json"

LIFECYCLE_STATUSES = {
    "Stable",
    "Preview",
    "GenerallyAvailable",
    "Deprecating",
    "Deprecated",
}  # ModelLifecycleStatus in the 2025-06-01 spec; the recordings hold no other value
SKU_NAMES = {
    "Standard",
    "GlobalStandard",
    "DataZoneStandard",
    "ProvisionedManaged",
    "GlobalProvisionedManaged",
}


@pytest.fixture(scope="module")
def catalog() -> list[dict]:
    data = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


def _models(catalog: list[dict]) -> list[dict]:
    return [entry["model"] for entry in catalog]


def test_has_enough_entries(catalog):
    assert len(catalog) >= 30


def test_entry_shape(catalog):
    for entry in catalog:
        assert entry["kind"] in {"OpenAI", "AIServices", "MaaS"}
        assert entry["skuName"] == "S0"
        assert isinstance(entry["description"], str) and entry["description"].strip()
        model = entry["model"]
        for key in ("format", "name", "version", "isDefaultVersion", "capabilities", "skus"):
            assert key in model, (model.get("name"), key)
        assert isinstance(model["capabilities"], dict)
        assert all(isinstance(v, str) for v in model["capabilities"].values())
        assert isinstance(model.get("finetuneCapabilities", {}), dict)


def test_at_least_six_formats(catalog):
    formats = {model["format"] for model in _models(catalog)}
    assert len(formats) >= 6, formats


def test_each_version_is_listed_once_per_account_kind(catalog):
    """As real eastus2 lists them (436 entries for 218 versions): every version for AIServices,
    and for OpenAI too when its format is OpenAI, else for MaaS; the same model each time."""
    kinds: dict[tuple, list[str]] = {}
    bodies: dict[tuple, set[str]] = {}
    for entry in catalog:
        model = entry["model"]
        key = (model["format"], model["name"], model["version"])
        kinds.setdefault(key, []).append(entry["kind"])
        bodies.setdefault(key, set()).add(json.dumps(model, sort_keys=True))
    for (fmt, name, version), listed in kinds.items():
        other = "OpenAI" if fmt == "OpenAI" else "MaaS"
        assert sorted(listed) == sorted(["AIServices", other]), (name, version, listed)
        assert len(bodies[(fmt, name, version)]) == 1, (name, version)
    assert len(catalog) == 2 * len(kinds)


def test_exactly_one_default_version_per_name(catalog):
    defaults = Counter()
    names = set()
    for entry in catalog:
        model = entry["model"]
        names.add((entry["kind"], model["name"]))
        if model["isDefaultVersion"] is True:
            defaults[(entry["kind"], model["name"])] += 1
    for name in names:
        assert defaults[name] == 1, (name, defaults[name])


def test_lifecycle_status_allowed(catalog):
    for model in _models(catalog):
        assert model["lifecycleStatus"] in LIFECYCLE_STATUSES, model["name"]


def test_lifecycle_mix(catalog):
    statuses = Counter(model["lifecycleStatus"] for model in _models(catalog))
    assert statuses["Preview"] >= 3
    assert statuses["Deprecating"] + statuses["Deprecated"] >= 2


def test_publisher_set(catalog):
    for model in _models(catalog):
        publisher = model.get("publisher")
        assert isinstance(publisher, str) and publisher.strip(), model["name"]


def test_every_model_has_skus(catalog):
    for model in _models(catalog):
        assert model["skus"], model["name"]
        for sku in model["skus"]:
            assert sku["name"] in SKU_NAMES, (model["name"], sku["name"])
            assert sku["usageName"], (model["name"], sku["name"])


def test_sku_names_unique_per_model(catalog):
    """A SKU name comes once, and once more as a fine-tune SKU (usage `...-finetune`)."""
    for model in _models(catalog):
        names = [(sku["name"], is_finetune_sku(sku)) for sku in model["skus"]]
        assert len(names) == len(set(names)), model["name"]
        base = {name for name, tuned in names if not tuned}
        assert {name for name, tuned in names if tuned} <= base, model["name"]


def test_usages_as_the_recordings_name_them(catalog):
    """OpenAI models carry fine-tune SKUs (gpt-4o: a second Standard on
    OpenAI.Standard.gpt-4o-finetune); serverless models of other formats mostly share
    AIServices.GlobalStandard.MaaS; ProvisionedManaged draws on OpenAI.ProvisionedManaged."""
    usages = {
        (m["name"], m["version"], s["name"], s["usageName"]) for m in _models(catalog)
        for s in m["skus"]
    }  # fmt: skip
    assert ("gpt-4o", "2024-08-06", "Standard", "OpenAI.Standard.gpt-4o-finetune") in usages
    assert ("gpt-4o", "2024-08-06", "Standard", "OpenAI.Standard.gpt-4o") in usages
    assert ("Phi-4", "7", "GlobalStandard", "AIServices.GlobalStandard.MaaS") in usages
    assert ("gpt-4o", "2024-11-20", "ProvisionedManaged", "OpenAI.ProvisionedManaged") in usages
    # A model with its own pool keeps it, as eastus2 shows (Llama-3.3-70B-Instruct 5).
    assert ("Llama-3.3-70B-Instruct", "5", "GlobalStandard",
            "AIServices.GlobalStandard.Llama-3.3-70B-Instruct") in usages  # fmt: skip
    finetuned = {u for *_, u in usages if u.endswith("-finetune")}
    assert all(u.startswith("OpenAI.") for u in finetuned) and len(finetuned) >= 5, finetuned


def test_sku_capacity_consistent(catalog):
    for model in _models(catalog):
        for sku in model["skus"]:
            cap = sku["capacity"]
            where = (model["name"], model["version"], sku["name"])
            minimum, maximum = cap["minimum"], cap["maximum"]
            step, default = cap["step"], cap["default"]
            assert step > 0, where
            assert 0 < minimum <= default <= maximum, where
            assert (default - minimum) % step == 0, where
            assert (maximum - minimum) % step == 0, where


def test_embeddings_are_not_chat(catalog):
    for model in _models(catalog):
        caps = model["capabilities"]
        if caps.get("embeddings") == "true":
            assert caps.get("chatCompletion") != "true", model["name"]


def test_catalog_asset_id_matches_model(catalog):
    for model in _models(catalog):
        asset = model["modelCatalogAssetId"]
        assert asset.startswith("azureml://registries/"), model["name"]
        assert asset.endswith(f"/models/{model['name']}/versions/{model['version']}")
