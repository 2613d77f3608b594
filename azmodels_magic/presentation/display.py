"""Rich display in IPython: azmodels' DataFrames with the status column in colour, and the
records the services return for display (`records.Displayable`) as cards.

A DataFrame azmodels made carries `frame.attrs["azmodels"]` (see tables.py). `install(shell)`
registers an HTML formatter for pandas DataFrames, by name, so loading the extension imports
nothing heavy; it colours the status of our frames and hands every other frame to pandas' own
HTML. The object is not touched: `df = %azmodels list` and `-o df` are plain DataFrames.
It also registers HTML and text formatters for `Displayable` records: their cards, with the
commands they name in the syntax of the front end that installed them.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from ..records import Displayable
from ..results.deployments import DeploymentDetails
from ..results.models import ModelDetails
from ..results.uploads import UploadPlan, UploadStatus
from ..steps import Syntax, plain
from .cards import card_for
from .colours import status_colour
from .tables import WIDE, cell_text
from .text import cut

FRAME_KIND = "azmodels"  # the attrs key tables.py sets
STATUS_COLUMNS = ("status", "state")  # models/deployments, then uploads
_INSTALLED = "_azmodels_html_formatter"
_SYNTAX = "_azmodels_syntax"  # how the cards shown in this shell write commands
NOTEBOOK_CELL = 32  # characters of text a notebook table shows per cell
# One line per row (a notebook would wrap dates and badges), text to the left as people read it.
TABLE_STYLE = (
    "<style>table.azmodels td, table.azmodels th "
    "{white-space: nowrap; text-align: left !important;}</style>"
)
# DataFrame.__module__: "pandas" from pandas 3 on, "pandas.core.frame" before.
DATAFRAME_MODULES = ("pandas", "pandas.core.frame")


def is_ours(frame: Any) -> bool:
    attrs = getattr(frame, "attrs", None)
    return bool(isinstance(attrs, dict) and attrs.get(FRAME_KIND))


def status_column(frame: Any) -> str | None:
    return next((c for c in STATUS_COLUMNS if c in getattr(frame, "columns", ())), None)


# Upload states (uploads list) in the colours of the statuses they resemble.
_STATE_LIKE = {"complete": "ready", "partial": "creating"}


def colour_of(status: str) -> str:
    first = status.strip().split(" ")[0].lower() if status.strip() else ""
    return status_colour(_STATE_LIKE.get(first, status))


def status_badge(value: Any) -> str:
    """One status as coloured HTML text (escaped)."""
    if value is None or _is_na(value):
        return ""
    text = str(value)
    return (
        f'<span style="color:{colour_of(text)};font-weight:600" '
        f'data-status="{html.escape(text.lower(), quote=True)}">&#9679; {html.escape(text)}</span>'
    )


def frame_html(frame: Any) -> str | None:
    """A frame of ours as notebook HTML with a coloured status column, its empty columns left
    out (and named under it) unless --wide; other frames as pandas renders them (None when
    pandas has no HTML for it). The frame itself keeps every column."""
    empty = _empty_columns(frame) if is_ours(frame) and not frame.attrs.get(WIDE) else []
    if empty:
        trimmed = frame.drop(columns=empty)
        trimmed.attrs = dict(frame.attrs)
        table = frame_html(trimmed)
        names = html.escape(", ".join(map(str, empty)))
        note = f"<p class='azmodels-empty-columns'>Empty, not shown: {names} (--wide shows them)"
        return None if table is None else f"{table}{note}</p>"
    column = status_column(frame) if is_ours(frame) else None
    if column is None or not _plain_labels(frame):
        return frame._repr_html_()
    import pandas as pd

    if not pd.get_option("display.notebook_repr_html"):
        return None
    # Long text is cut (the stored frame keeps it whole; `show` shows it), unless --wide, so a
    # table reads on one screen: to NOTEBOOK_CELL characters, or less if pandas is set so.
    width = None
    if not frame.attrs.get(WIDE):
        width = min(pd.get_option("display.max_colwidth") or NOTEBOOK_CELL, NOTEBOOK_CELL)
    shown = frame.copy()
    for name in shown.columns:
        series = shown[name]
        if name == column:
            shown[name] = series.astype(object).map(status_badge)
        elif isinstance(series.dtype, pd.DatetimeTZDtype):
            dates = series.dropna()
            if len(dates) and (dates == dates.dt.normalize()).all():  # dates (e.g. retirements)
                shown[name] = series.map(lambda v: "" if pd.isna(v) else v.strftime("%Y-%m-%d"))
            else:
                shown[name] = series.map(_moment)
        elif series.dtype == object or isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
            shown[name] = series.astype(object).map(lambda v: _escaped(v, width))
    max_rows = pd.get_option("display.max_rows")
    if max_rows and len(shown) > max_rows:  # pandas shows min_rows when it must cut
        max_rows = pd.get_option("display.min_rows") or max_rows
    kind = html.escape(str(frame.attrs.get(FRAME_KIND)), quote=True)
    # Cells are cut to max_colwidth above, before escaping: pandas must not cut the markup.
    with pd.option_context("display.max_colwidth", None):
        return TABLE_STYLE + shown.to_html(
            escape=False,
            notebook=True,
            max_rows=max_rows,
            max_cols=pd.get_option("display.max_columns"),
            show_dimensions=pd.get_option("display.show_dimensions"),
            classes=f"azmodels azmodels-{kind}",
        )


def _empty_columns(frame: Any) -> list[Any]:
    """The columns with nothing in any row (missing values, empty text or lists), when the
    frame has rows."""
    if len(frame) == 0 or frame.columns.has_duplicates:
        return []
    return [c for c in frame.columns if not any(cell_text(v) for v in frame[c])]


def _plain_labels(frame: Any) -> bool:
    """Column and index labels that need no escaping (ours always; derived frames may not)."""
    import pandas as pd

    labels = [*map(str, frame.columns)]
    if not isinstance(frame.index, pd.RangeIndex):
        labels.extend(map(str, frame.index[:1000]))
    return not any(ch in label for label in labels for ch in "<>&\"'")


def _is_na(value: Any) -> bool:
    if isinstance(value, (list, tuple, dict, set, str)):
        return False
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _escaped(value: Any, width: int | None = None) -> str:
    """A cell as text: lists joined, nothing for a missing value, control sequences removed."""
    text = cell_text(value)
    if width and len(text) > width:  # as pandas cuts long cells
        text = cut(text, width)
    return html.escape(text)


def _moment(value: Any) -> str:
    text = cell_text(value)
    return f"{text} UTC" if text else ""


def _html_formatter(frame: Any) -> str | None:
    table = frame_html(frame)
    if table is not None and is_ours(frame) and frame.attrs.get(FRAME_KIND) == "quota":
        from .quota_views import with_chart  # a bar chart of used vs limit beside the table

        return with_chart(frame, table)
    return table


# The Displayable records. IPython's text printer meets a dataclass's own __repr__ before a
# base class's printer, so each is registered itself.
CARD_RECORDS = (ModelDetails, DeploymentDetails, UploadPlan, UploadStatus)


def record_card(record: Displayable, syntax: Syntax = plain):
    """The card of a record, naming commands in `syntax`."""
    return card_for(record, syntax)


def record_formatters(syntax: Callable[[], Syntax]) -> tuple[Any, Any]:
    """(HTML, pretty-text) formatters of Displayable records, naming commands in the syntax
    `syntax()` gives when the record is shown."""

    def as_html(record: Displayable) -> str:
        return record_card(record, syntax()).html()

    def as_text(record: Displayable, printer: Any, cycle: bool) -> None:
        printer.text(record_card(record, syntax()).text())

    return as_html, as_text


def install(shell: Any, syntax: Syntax | None = None) -> bool:
    """Register the DataFrame HTML formatter on `shell` (once; no pandas import), and the
    records' card formatters. Cards name commands in `syntax` when given (the last front end
    to say wins: the extension says the magic's), else as before (the terminal's at first).
    True if newly registered."""
    if shell is None or getattr(shell, "display_formatter", None) is None:
        return False
    formatter = shell.display_formatter.formatters.get("text/html")
    if formatter is None:
        return False
    if syntax is not None:
        setattr(formatter, _SYNTAX, syntax)
    if getattr(formatter, _INSTALLED, False):
        return False
    for module in DATAFRAME_MODULES:
        formatter.for_type_by_name(module, "DataFrame", _html_formatter)
    as_html, as_text = record_formatters(lambda: getattr(formatter, _SYNTAX, plain))
    formatter.for_type(Displayable, as_html)
    text = shell.display_formatter.formatters.get("text/plain")
    if text is not None:
        for record in CARD_RECORDS:
            text.for_type(record, as_text)
    setattr(formatter, _INSTALLED, True)
    return True


def uninstall(shell: Any) -> None:
    formatters = getattr(getattr(shell, "display_formatter", None), "formatters", {})
    formatter = formatters.get("text/html")
    if formatter is None or not getattr(formatter, _INSTALLED, False):
        return
    for module in DATAFRAME_MODULES:
        formatter.pop(f"{module}.DataFrame", None)  # deferred or resolved, by name
    formatter.pop(Displayable, None)
    text = formatters.get("text/plain")
    if text is not None:
        for record in CARD_RECORDS:
            text.pop(record, None)
    setattr(formatter, _INSTALLED, False)
