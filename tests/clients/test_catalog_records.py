"""Catalog records are built without their dataclass __init__ (thousands per list): they must be
the very records __init__ would give, defaults included, still frozen."""

from __future__ import annotations

import dataclasses

import pytest

from azmodels_magic.records import BaseModel, CapacityRange, SkuOption


def _through_init(record):
    """The same record built field by field through the dataclass __init__."""
    values = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    return type(record)(**values)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"model": {}},
        {
            "kind": "OpenAI",
            "model": {
                "name": "gpt-4o",
                "version": 20240806,
                "format": "OpenAI",
                "maxCapacity": 30,
                "capabilities": {"chatCompletion": "true"},
                "skus": [
                    {"name": "GlobalStandard", "capacity": {"minimum": 1, "maximum": 30}},
                    {"name": "P", "capacity": {"allowedValues": [50, "100"], "step": 0}},
                    {"name": "Bare"},
                ],
            },
        },
    ],
)
def test_fast_records_equal_init_built_ones(body):
    model = BaseModel.from_rest(body)
    assert model == _through_init(model)
    assert model.type == "base"
    assert model.finetune_capabilities == {} and model.skus == tuple(model.skus)
    for sku in model.skus:
        assert sku == _through_init(sku) and isinstance(sku, SkuOption)
        assert sku.capacity == _through_init(sku.capacity)
        assert isinstance(sku.capacity, CapacityRange)
        assert hash(sku) == hash(_through_init(sku))
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.name = "other"  # type: ignore[misc]


def test_capacity_defaults_and_allowed_values():
    assert CapacityRange.from_rest(None) == CapacityRange()
    allowed = CapacityRange.from_rest({"allowedValues": ["50", 100], "minimum": 50})
    assert allowed.allowed == (50, 100) and allowed.maximum == 50 and allowed.default == 50
    assert allowed.problem(75) and allowed.problem(50) is None
