"""Records -> pandas DataFrames with stable, documented columns.

Column sets (README "DataFrames" documents them):
- `list` (all types): name, type, format, version, size, size_bytes, status, publisher, description
- `list --type base`: name, version, format, publisher, status, default_version, skus,
  capabilities, inference_deprecation, description
- `list --type custom`: name, version, format, size, size_bytes, status, weight_type, base_model,
  warnings (the service's warning codes, comma-separated), sha256 (of the files, as the upload
  recorded it; None when nobody declared or computed one), sha256_basis ("computed" from the
  bytes, or "declared" by the source an import copied from), created, description
- `deployments list`: deployment, model, model_version, type, status, sku, capacity, created
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..records import BaseModel, CustomModel, Deployment
from ..sizes import human_size
from .text import clean, clean_value, cut

if TYPE_CHECKING:
    import pandas as pd

    from ..results.deployments import DeploymentMetrics

MODEL_COLUMNS = [
    "name", "type", "format", "version", "size", "size_bytes", "status", "publisher", "description",
]  # fmt: skip
BASE_COLUMNS = [
    "name", "version", "format", "publisher", "status", "default_version", "skus",
    "capabilities", "inference_deprecation", "description",
]  # fmt: skip
CUSTOM_COLUMNS = [
    "name", "version", "format", "size", "size_bytes", "status", "weight_type", "base_model",
    "warnings", "sha256", "sha256_basis", "created", "description",
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
            "skus": [s.name for s in model.skus],
            "capabilities": list(model.capability_names),
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
        "warnings": model.warning_codes,
        "sha256": model.meta("sha256") or None,
        # Uploads before imports recorded no basis: their digests were computed.
        "sha256_basis": (
            (model.meta("sha256_basis") or "computed") if model.meta("sha256") else None
        ),
        "created": model.created_at,
    }


INTEGER_COLUMNS = ("size_bytes", "capacity")
DATETIME_COLUMNS = ("created", "inference_deprecation", "last_activity")


def build_frame(
    rows: list[dict[str, Any]],
    columns: list[str],
    kind: str,
    *,
    integers: Iterable[str] = INTEGER_COLUMNS,
    booleans: Iterable[str] = (),
) -> pd.DataFrame:
    """The one way a frame of records is made: `columns` in order (a row's missing key is
    empty), text cleaned, the `integers`, `booleans` and time columns typed, marked `kind`."""
    # Column-wise: pandas builds a frame from a dict of lists several times faster than from a
    # list of row dicts (it infers each column once instead of transposing records).
    data = {column: [row.get(column) for row in rows] for column in columns}
    return _columns_frame(data, columns, kind, integers=integers, booleans=booleans)


def _base_columns(models: tuple[BaseModel, ...]) -> dict[str, list[Any]]:
    """The `list --type base` columns straight from the records, without a dict per row (the
    catalog has thousands of models); cell for cell what `_row` gives."""
    capability_names = BaseModel.capability_names.func
    return {
        "name": [m.name for m in models],
        "version": [m.version for m in models],
        "format": [m.format for m in models],
        "publisher": [m.publisher for m in models],
        "status": [m.status for m in models],
        "default_version": [m.is_default_version for m in models],
        "skus": [[s.name for s in m.skus] for m in models],
        # The property's function itself: a fresh list each, without the cache's lock per model.
        "capabilities": list(map(capability_names, models)),
        "inference_deprecation": [m.inference_deprecation for m in models],
        "description": [m.description for m in models],
    }


def _columns_frame(
    data: dict[str, list[Any]],
    columns: list[str],
    kind: str,
    *,
    integers: Iterable[str] = INTEGER_COLUMNS,
    booleans: Iterable[str] = (),
) -> pd.DataFrame:
    import pandas as pd

    # Text from the service is cleaned of control sequences here, so no front end shows them.
    frame = pd.DataFrame({column: _cleaned(data[column]) for column in columns}, columns=columns)
    for column in integers:
        if column in frame:
            frame[column] = frame[column].astype("Int64")
    for column in booleans:
        if column in frame:
            frame[column] = frame[column].astype("boolean")
    for column in DATETIME_COLUMNS:
        if column in frame:
            moments = pd.to_datetime(frame[column].replace("", None), utc=True, errors="coerce",
                                     format="ISO8601")  # fmt: skip
            frame[column] = moments.astype("datetime64[ns, UTC]")
    frame.attrs[FRAME_KIND] = kind
    return frame


def _cleaned(values: list[Any]) -> list[Any]:
    """A column without control sequences; a column of plain text, or of lists of plain text
    (SKU names, capabilities), is checked at C speed."""
    from itertools import chain

    try:
        if all(map(str.isprintable, values)):
            return values
    except TypeError:  # not all text
        try:
            if all(map(str.isprintable, chain.from_iterable(values))):
                return values
        except TypeError:  # not all lists of text: cell by cell
            pass
    return [clean_value(v) for v in values]


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
    if columns is BASE_COLUMNS and all(isinstance(m, BaseModel) for m in records):
        frame = _columns_frame(_base_columns(records), columns, "models")
        _LAST_MODELS_FRAME[type] = (records, frame)
        return frame.copy()
    rows = [_row(m) for m in records]
    if columns is MODEL_COLUMNS:
        # A catalog model's format is its publisher's name (OpenAI, Meta...): said once, under
        # publisher; format is the weights' format of custom models.
        for row in rows:
            if row["type"] == "base" and row["format"] == row["publisher"]:
                row["format"] = ""
    frame = build_frame(rows, columns, "models")
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
    return build_frame(rows, DEPLOYMENT_COLUMNS, "deployments")


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
    return build_frame(rows, UPLOAD_COLUMNS, "uploads")


WIDE = "azmodels_wide"  # frame.attrs key: show every column and whole cells (--wide)
_GAP = 2  # spaces between columns
_MIN_COLUMN = 12  # a column is cut down to no fewer characters before columns are left out
_MIN_FIRST = 30  # ... the first (the names) to no fewer than this


def metrics_frame(metrics: DeploymentMetrics) -> pd.DataFrame:
    """`deployments show --metrics`: one row per hour, indexed by its UTC time."""
    import pandas as pd

    points = metrics.points
    frame = pd.DataFrame(
        {
            "time": [p.time for p in points],
            "requests": [p.requests for p in points],
            "average_latency_ms": [p.average_latency_ms for p in points],
            "client_errors": [p.client_errors for p in points],
            "server_errors": [p.server_errors for p in points],
        }
    )
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    frame["average_latency_ms"] = frame["average_latency_ms"].astype("Float64")
    errors = frame["client_errors"] + frame["server_errors"]
    frame["error_rate"] = (errors / frame["requests"].where(frame["requests"] > 0)).astype(
        "Float64"
    )
    return frame.set_index("time")


# Per kind of frame (frame.attrs["azmodels"]): its answer columns, always shown (cut if they
# must be), then its other columns by importance, each shown only when it fits whole beside
# the ones before it. Columns a kind does not name follow in the frame's order.
IMPORTANCE = {
    "models": (
        ["name", "version", "status"],
        ["type", "publisher", "size", "format", "weight_type", "base_model", "warnings",
         "created", "default_version", "skus", "capabilities", "inference_deprecation",
         "description", "size_bytes"],
    ),
    "deployments": (
        ["deployment", "status", "model"],
        ["model_version", "sku", "capacity", "account", "region", "note", "type", "created"],
    ),
    "uploads": (
        ["path", "state", "progress"],
        ["name", "version", "size", "uploaded", "registered", "hint", "last_activity", "source"],
    ),
    # With one region asked, region is the same on every row: said once instead.
    "quota": (
        ["region", "usage_name", "used", "limit", "available"],
        ["model", "sku", "unit"],
    ),
    "regions": (
        ["region", "sku", "fits", "deployable"],
        ["account", "quota_available", "available_capacity", "quota_used", "quota_limit",
         "model_version"],
    ),
    "accounts": (
        ["account", "region"],
        ["deployments", "projects", "kind", "resource_group", "note"],
    ),
}  # fmt: skip
# Columns that say again what another says in another form: left out when that one is shown.
RESTATES = {"size_bytes": "size"}


def _fit(widths: list[int], limit: int, whole: list[bool]) -> list[int] | None:
    """Narrow the widest text columns until the row fits in `limit`; None when it cannot.
    Columns marked `whole` (numbers, times) are never cut."""
    floors = _floors(widths, whole)
    excess = sum(widths) + _GAP * (len(widths) - 1) - limit
    while excess > 0:
        candidates = [i for i, w in enumerate(widths) if w > floors[i]]
        if not candidates:
            return None
        widest = max(candidates, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1
    return widths


def _floors(widths: list[int], whole: list[bool]) -> list[int]:
    """How narrow each column may be cut: numbers and times not at all, the first (the names)
    to _MIN_FIRST, other text to _MIN_COLUMN."""
    return [w if whole[i] else min(w, _MIN_FIRST if i == 0 else _MIN_COLUMN)
            for i, w in enumerate(widths)]  # fmt: skip


def terminal_width() -> int:
    """The terminal's width (COLUMNS when set, as pandas reads it), 120 when there is none."""
    import shutil

    return shutil.get_terminal_size(fallback=(120, 24)).columns


def _ordered(frame: pd.DataFrame) -> tuple[list[str], int]:
    """The frame's columns, most important first (the frame's order for kinds not in
    IMPORTANCE), and how many of them are its answer."""
    answer, details = IMPORTANCE.get(str(frame.attrs.get(FRAME_KIND)), (list(frame.columns), []))
    named = [c for c in (*answer, *details) if c in frame.columns]
    return named + [c for c in frame.columns if c not in named], sum(c in frame for c in answer)


def _noise(
    headers: list[str], columns: list[list[str]], text: list[bool], answer: int
) -> tuple[set[int], dict[int, str]]:
    """Which columns tell nothing row by row: empty ones; text the same on every row (said
    once instead: "unit Count"), and of the other columns, besides the `answer` ones, any
    value the same on every row; text repeating an earlier column, or another column's
    value in another form (RESTATES). Returns their positions, and the constants' as "header
    value"; the first column stays when all would go."""
    gone: set[int] = set()
    constants: dict[int, str] = {}
    several = len(columns[0]) > 1
    for i, values in enumerate(columns):
        if not any(values):
            gone.add(i)
        elif several and len(set(values)) == 1 and (text[i] or i >= answer):
            gone.add(i)
            constants[i] = f"{headers[i]} {values[0]}"
        elif RESTATES.get(headers[i]) in headers or (
            text[i] and any(values == columns[j] for j in range(i) if j not in gone)
        ):
            gone.add(i)
    if len(gone) == len(columns):
        gone.discard(0)
        constants.pop(0, None)
    return gone, constants


def _notes(constants: list[str], dropped: list[str], empty: list[str], limit: int) -> list[str]:
    """The lines under a table: what every row has, and which columns are left out."""
    import textwrap

    def wrapped(text: str) -> list[str]:
        # The closing advice stays on one line (spaces kept from breaking).
        return [
            line.replace("\xa0", " ")
            for line in textwrap.wrap(text, limit, break_on_hyphens=False, break_long_words=True)
        ]

    lines = wrapped(f"(every row: {'; '.join(constants)})") if constants else []
    if dropped or empty:
        parts = [f"{len(dropped)} more: {', '.join(dropped)}"] if dropped else []
        parts += [f"empty: {', '.join(empty)}"] if empty else []
        advice = "--wide or --format json shows all)".replace(" ", "\xa0")
        lines += wrapped(f"({'; '.join(parts)}; {advice}")
    return lines


def frame_text(
    frame: pd.DataFrame, *, width: int | None = None, wide: bool | None = None,
    max_cell: int = 48,
) -> str:  # fmt: skip
    """A DataFrame as a plain text table for terminals, one line per row.

    For our kinds of frame (IMPORTANCE) the columns come most important first, and the ones
    that tell nothing row by row are left out (`_noise`; a value the same on every row is said
    once below the table). The table fits `width` (the terminal's): the answer columns are
    always shown, long cells cut with … and the widest narrowed; each other column is shown
    when it fits whole beside them, in order of importance. Every column left out is named
    below the table. `wide` (or --wide) shows every column, in the frame's order, with whole
    cells instead."""
    import pandas as pd

    if frame.empty:
        return "(none)"
    wide = bool(frame.attrs.get(WIDE) if wide is None else wide)
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()  # e.g. the metrics' time index: a column like the others
    order, answer = (list(frame.columns), len(frame.columns)) if wide else _ordered(frame)
    headers = [clean(str(c), lines=False) for c in order]
    columns = [[cell_text(v) for v in frame[c]] for c in order]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               for c in order]  # fmt: skip
    whole = [n or isinstance(frame[c].dtype, pd.DatetimeTZDtype) or pd.api.types.is_bool_dtype(
             frame[c]) for n, c in zip(numeric, order, strict=True)]  # fmt: skip
    natural = [max(len(h), *(len(v) for v in col)) for h, col in zip(headers, columns, strict=True)]
    limit = width or terminal_width()
    if wide:
        shown, widths = list(range(len(order))), natural
        constants: dict[int, str] = {}
        dropped: list[str] = []
        empty: list[str] = []
    else:
        noise: set[int] = set()
        constants = {}
        if str(frame.attrs.get(FRAME_KIND)) in IMPORTANCE:
            text = [not w for w in whole]
            noise, constants = _noise(headers, columns, text, answer)
        empty = [headers[i] for i in sorted(noise) if not any(columns[i])]
        dropped = [headers[i] for i in sorted(noise) if i not in constants and any(columns[i])]
        capped = [min(n, max_cell) for n in natural]
        shown, used = [], -_GAP
        for i in range(len(order)):
            if i in noise:
                continue
            # The answer is always shown (cut if it must be); another column when it fits whole.
            if i < answer or used + _GAP + capped[i] <= limit:
                shown.append(i)
                used += _GAP + capped[i]
            else:
                dropped.append(headers[i])
        widths = _fit([capped[i] for i in shown], limit, [whole[i] for i in shown])
        while widths is None and len(shown) > 1:  # even the answer is too wide: its last go
            dropped.insert(0, headers[shown.pop()])
            widths = _fit([capped[i] for i in shown], limit, [whole[i] for i in shown])
        widths = widths or [limit]
    lines = []
    for row in range(-1, len(frame)):
        cells = []
        for i, w in zip(shown, widths, strict=True):
            cell = cut(headers[i] if row < 0 else columns[i][row], w)
            cells.append(cell.rjust(w) if numeric[i] else cell.ljust(w))
        lines.append((" " * _GAP).join(cells).rstrip())
    dropped.sort(key=headers.index)  # most important first
    lines += _notes(list(constants.values()), dropped, empty, limit)
    return "\n".join(lines)


def cell_text(value: Any) -> str:
    """One cell as a person reads it: lists joined, moments to the minute in UTC, nothing for
    a missing value, text on one line without control sequences."""
    if value is None:
        return ""
    if isinstance(value, str):
        return clean(value, lines=False)
    if isinstance(value, (list, tuple)):
        return ", ".join(cell_text(v) for v in value)
    if isinstance(value, bool):
        return str(value)
    if hasattr(value, "strftime"):
        import pandas as pd

        if pd.isna(value):
            return ""
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return "" if value != value else f"{value:.6g}"
    try:
        import pandas as pd

        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return clean(str(value), lines=False)
