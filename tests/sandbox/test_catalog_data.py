"""Invariants of the sandbox's base-model catalog (sandbox/data/catalog.json)."""

import json
from collections import Counter
from pathlib import Path

import pytest

import azmodels_magic.sandbox

CATALOG_PATH = Path(azmodels_magic.sandbox.__file__).parent / "data" / "catalog.json"

LIFECYCLE_STATUSES = {
    "Stable",
    "Preview",
    "GenerallyAvailable",
    "Deprecating",
    "Deprecated",
    "Legacy",
}
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
        assert entry["kind"] in {"OpenAI", "AIServices"}
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


def test_name_version_unique(catalog):
    counts = Counter((model["name"], model["version"]) for model in _models(catalog))
    duplicates = [key for key, n in counts.items() if n > 1]
    assert not duplicates


def test_exactly_one_default_version_per_name(catalog):
    defaults = Counter()
    names = set()
    for model in _models(catalog):
        names.add(model["name"])
        if model["isDefaultVersion"] is True:
            defaults[model["name"]] += 1
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
    for model in _models(catalog):
        names = [sku["name"] for sku in model["skus"]]
        assert len(names) == len(set(names)), model["name"]


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
