"""Records -> pandas DataFrames with stable, documented columns.

Column sets (README "DataFrames" documents them):
- `list` (all types): name, type, format, version, size, size_bytes, status, publisher, description
- `list --type base`: name, version, format, publisher, status, default_version, skus,
  capabilities, inference_deprecation, description
- `list --type custom`: name, version, format, size, size_bytes, status, weight_type, base_model,
  created, description
- `deployments list`: deployment, model, model_version, type, status, sku, capacity, created
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..records import BaseModel, CustomModel, Deployment
from ..sizes import human_size

if TYPE_CHECKING:
    import pandas as pd

MODEL_COLUMNS = [
    "name", "type", "format", "version", "size", "size_bytes", "status", "publisher", "description",
]  # fmt: skip
BASE_COLUMNS = [
    "name", "version", "format", "publisher", "status", "default_version", "skus",
    "capabilities", "inference_deprecation", "description",
]  # fmt: skip
CUSTOM_COLUMNS = [
    "name", "version", "format", "size", "size_bytes", "status", "weight_type", "base_model",
    "created", "description",
]  # fmt: skip
UPLOAD_COLUMNS = [
    "path", "name", "version", "size", "uploaded", "progress", "state", "registered", "source",
    "last_activity", "hint",
]  # fmt: skip
DEPLOYMENT_COLUMNS = [
    "deployment", "model", "model_version", "type", "status", "sku", "capacity", "created",
]  # fmt: skip
# Marks frames made here, so the notebook display can add status colours to them only.
FRAME_KIND = "azmodels"


def _row(model: BaseModel | CustomModel) -> dict[str, Any]:
    if isinstance(model, BaseModel):
        return {
            "name": model.name,
            "type": model.type,
            "format": model.format,
            "version": model.version,
            "size": "",
            "size_bytes": None,
            "status": model.status,
            "publisher": model.publisher,
            "description": model.description,
            "default_version": model.is_default_version,
            "skus": ", ".join(s.name for s in model.skus),
            "capabilities": ", ".join(model.capability_names),
            "inference_deprecation": model.inference_deprecation,
        }
    return {
        "name": model.name,
        "type": model.type,
        "format": model.format,
        "version": model.version,
        "size": human_size(model.size) if model.size is not None else "",
        "size_bytes": model.size,
        "status": model.status,
        "publisher": model.publisher,
        "description": model.description,
        "weight_type": model.weight_type,
        "base_model": model.base_model,
        "created": model.created_at,
    }


def _frame(rows: list[dict[str, Any]], columns: list[str], kind: str) -> pd.DataFrame:
    import pandas as pd

    # Column-wise: pandas builds a frame from a dict of lists several times faster than from a
    # list of row dicts (it infers each column once instead of transposing records).
    if rows:
        missing = float("nan")  # what from_records puts where a row lacks a key
        data = {column: [row.get(column, missing) for row in rows] for column in columns}
        frame = pd.DataFrame(data, columns=columns)
    else:
        frame = pd.DataFrame.from_records(rows, columns=columns)  # object columns, as before
    for column in ("size_bytes", "capacity"):
        if column in frame:
            frame[column] = frame[column].astype("Int64")
    for column in ("created",):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True, errors="coerce")
    frame.attrs[FRAME_KIND] = kind
    return frame


# The last models frame per column set, with the records it was made from. Records are frozen
# and the catalog is cached for `cache_seconds`, so a repeated `list` within the cache lifetime
# gets the very same record objects: it is answered with a copy of the frame (milliseconds for
# thousands of rows) instead of rebuilding it. Only identity is compared, never contents.
_LAST_MODELS_FRAME: dict[str, tuple[tuple[BaseModel | CustomModel, ...], pd.DataFrame]] = {}


def models_frame(models: Iterable[BaseModel | CustomModel], type: str = "all") -> pd.DataFrame:
    import operator

    records = tuple(models)
    hit = _LAST_MODELS_FRAME.get(type)
    if hit is not None and len(hit[0]) == len(records) and all(map(operator.is_, hit[0], records)):
        return hit[1].copy()
    columns = {"base": BASE_COLUMNS, "custom": CUSTOM_COLUMNS}.get(type, MODEL_COLUMNS)
    frame = _frame([_row(m) for m in records], columns, "models")
    _LAST_MODELS_FRAME[type] = (records, frame)
    return frame.copy()


def deployments_frame(deployments: Iterable[Deployment]) -> pd.DataFrame:
    rows = [
        {
            "deployment": d.name,
            "model": d.model_name,
            "model_version": d.model_version,
            "type": d.type,
            "status": d.status,
            "sku": d.sku,
            "capacity": d.capacity,
            "created": d.created_at,
        }
        for d in deployments
    ]
    return _frame(rows, DEPLOYMENT_COLUMNS, "deployments")


def uploads_frame(statuses: Iterable[Any]) -> pd.DataFrame:
    rows = [
        {
            "path": s.path,
            "name": s.name,
            "version": s.version,
            "size": human_size(s.size),
            "uploaded": human_size(s.bytes_done),
            "progress": round(100 * s.bytes_done / s.size, 1) if s.size else 100.0,
            "state": s.state,
            "registered": "yes" if s.registered else "no",
            "source": s.source,
            "last_activity": s.updated,
            "hint": s.hint,
        }
        for s in statuses
    ]
    return _frame(rows, UPLOAD_COLUMNS, "uploads")


def frame_text(frame: pd.DataFrame, *, max_width: int = 48) -> str:
    """A DataFrame as a plain text table for terminals (long cells cut with an ellipsis)."""
    if frame.empty:
        return "(none)"
    shown = frame.copy()
    for column in shown.columns:
        if shown[column].dtype == object:
            shown[column] = shown[column].map(lambda v: _cut(v, max_width))
    return shown.to_string(index=False, na_rep="")


def _cut(value: Any, width: int) -> Any:
    if isinstance(value, str) and len(value) > width:
        return value[: width - 1] + "…"
    return value
