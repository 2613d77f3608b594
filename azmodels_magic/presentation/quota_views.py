"""Quota, regions, accounts and every account's deployments as DataFrames with stable columns,
and the quota table's bar chart (% of each limit used) for notebooks.

Columns (README "Quota, regions and accounts" documents them):
- `quota`: region, usage_name, model, sku, used, limit, available, unit
- `regions`: region, sku, model_version, available_capacity, quota_used, quota_limit,
  quota_available, deployable, fits, account
- `accounts list`: account, resource_group, region, kind, projects, deployments, note
- `deployments list --all-accounts`: account, region, then the `deployments list` columns, note
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .tables import DEPLOYMENT_COLUMNS, build_frame

if TYPE_CHECKING:
    import pandas as pd

    from ..records import QuotaUsage
    from ..results.quota import AccountSummary, AllDeployments, RegionOption

QUOTA_COLUMNS = ["region", "usage_name", "model", "sku", "used", "limit", "available", "unit"]
REGION_COLUMNS = [
    "region", "sku", "model_version", "available_capacity", "quota_used", "quota_limit",
    "quota_available", "deployable", "fits", "account",
]  # fmt: skip
ACCOUNT_COLUMNS = [
    "account", "resource_group", "region", "kind", "projects", "deployments", "note",
]  # fmt: skip
ALL_DEPLOYMENT_COLUMNS = ["account", "region", *DEPLOYMENT_COLUMNS, "note"]
_INTEGERS = (
    "used", "limit", "available", "available_capacity", "quota_used", "quota_limit",
    "quota_available", "deployable", "projects", "deployments", "capacity",
)  # fmt: skip
CHART_ROWS = 12  # the fullest quotas in use are charted; the table has them all
_USED, _FULL, _TRACK = "#2e86c1", "#c0392b", "#e6eaee"


def _frame(rows: list[dict[str, Any]], columns: list[str], kind: str) -> pd.DataFrame:
    return build_frame(rows, columns, kind, integers=_INTEGERS, booleans=("fits",))


def quota_frame(usages: Iterable[QuotaUsage]) -> pd.DataFrame:
    rows = [
        {
            "region": u.region,
            "usage_name": u.usage_name,
            "model": u.model,
            "sku": u.sku,
            "used": u.used,
            "limit": u.limit,
            "available": u.available,
            "unit": u.unit,
        }
        for u in usages
    ]
    return _frame(rows, QUOTA_COLUMNS, "quota")


def regions_frame(options: Iterable[RegionOption]) -> pd.DataFrame:
    rows = [
        {
            "region": o.region,
            "sku": o.sku,
            "model_version": o.model_version,
            "available_capacity": o.available_capacity,
            "quota_used": o.quota_used,
            "quota_limit": o.quota_limit,
            "quota_available": o.quota_available,
            "deployable": o.deployable,
            "fits": o.fits,
            "account": o.account,
        }
        for o in options
    ]
    return _frame(rows, REGION_COLUMNS, "regions")


def accounts_frame(summaries: Iterable[AccountSummary]) -> pd.DataFrame:
    rows = [
        {
            "account": s.account.name,
            "resource_group": s.account.resource_group,
            "region": s.account.region,
            "kind": s.account.kind,
            "projects": s.projects,
            "deployments": s.deployments,
            "note": s.note,
        }
        for s in summaries
    ]
    return _frame(rows, ACCOUNT_COLUMNS, "accounts")


def all_deployments_frame(result: AllDeployments) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for entry in result.accounts:
        where = {"account": entry.account.name, "region": entry.account.region}
        if entry.warning:
            rows.append({**where, "status": "Warning", "note": entry.warning})
        for d in entry.deployments:
            rows.append(
                {
                    **where,
                    "deployment": d.name,
                    "model": d.model_name,
                    "model_version": d.model_version,
                    "type": d.type,
                    "status": d.status,
                    "sku": d.sku,
                    "capacity": d.capacity,
                    "created": d.created_at,
                    "note": "",
                }
            )
    return _frame(rows, ALL_DEPLOYMENT_COLUMNS, "deployments")


# -- the chart beside the quota table (notebooks) -------------------------------------------------


def chart_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The quotas the chart draws: those in use, fullest first, at most CHART_ROWS."""
    limited = frame[frame["limit"].fillna(0) > 0]
    used = limited[limited["used"].fillna(0) > 0]
    share = used["used"].astype(float) / used["limit"].astype(float)
    return used.assign(_share=share).sort_values(["_share", "used"], ascending=False)


def chart_title(frame: pd.DataFrame) -> str:
    """What the chart shows, e.g. '% of quota used: top 12 of 56 by use (40 unused)'."""
    in_use, total = len(chart_rows(frame)), len(frame)
    if not in_use:
        return f"No quota in use: all {total} at 0."
    shown = min(in_use, CHART_ROWS)
    unused = f" ({total - in_use} unused)" if in_use < total else ""
    return f"% of quota used: top {shown} of {total} by use{unused}"


def quota_chart_svg(frame: pd.DataFrame) -> str | None:
    """The % used of the quotas in use, fullest first, as a small horizontal bar chart (SVG); None
    when matplotlib is not installed or no quota is in use."""
    try:
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch
    except ImportError:
        return None
    shown = chart_rows(frame).head(CHART_ROWS)
    if shown.empty:
        return None
    shown = shown.iloc[::-1]  # barh draws bottom-up: the fullest on top
    several = shown["region"].nunique() > 1
    labels = [
        f"{r.usage_name} ({r.region})" if several else str(r.usage_name) for r in shown.itertuples()
    ]
    percent = [min(100.0, 100 * s) for s in shown["_share"]]
    figure = Figure(figsize=(4.8, 0.32 * len(shown) + 1.2))
    axes = figure.add_subplot()
    positions = list(range(len(shown)))
    axes.barh(positions, [100.0] * len(shown), color=_TRACK, height=0.7)  # the limit
    colours = [_FULL if s >= 1 else _USED for s in shown["_share"]]
    # A used quota is never thinner than 2% of the track: a sliver would read as unused.
    axes.barh(positions, [max(p, 2.0) for p in percent], color=colours, height=0.7)
    for y, row, pct in zip(positions, shown.itertuples(), percent, strict=True):
        # used / limit beside the bar's end; inside it, in white, when the bar is long
        exact = f"{pct:.0f}%" if pct >= 1 else f"{pct:.1f}%"
        inside = pct >= 55
        axes.text(
            pct - 1 if inside else max(pct, 2.0) + 1.5, y,
            f"{int(row.used):,} / {int(row.limit):,} ({exact})", va="center",
            ha="right" if inside else "left", fontsize=8,
            color="white" if inside else "#323130",
        )  # fmt: skip
    axes.set_yticks(positions, labels, fontsize=8)
    axes.set_xlim(0, 100)
    axes.set_xticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"], fontsize=8)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.suptitle(chart_title(frame), x=0.01, ha="left", fontsize=9)
    # The legend below the axes, never over a bar.
    figure.legend(
        handles=[Patch(color=_USED, label="used"), Patch(color=_FULL, label="full"),
                 Patch(color=_TRACK, label="limit (100%)")],
        loc="lower left", ncols=3, fontsize=8, frameon=False,
    )  # fmt: skip
    figure.tight_layout(rect=(0, 0.07, 1, 1))
    import io

    from matplotlib import rc_context

    buffer = io.StringIO()
    # No date and fixed element ids: the same quota draws the same SVG (notebook diffs, nbval).
    with rc_context({"svg.hashsalt": "azmodels", "svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.find("<svg") :]


def with_chart(frame: pd.DataFrame, table_html: str) -> str:
    """The quota table with its chart beside it (to its left); a line instead when no quota is
    in use; the table alone without matplotlib."""
    title = html.escape(chart_title(frame))
    if chart_rows(frame).empty:
        return f'<div class="azmodels-quota-note" style="color:#605e5c">{title}</div>{table_html}'
    svg = quota_chart_svg(frame)
    if svg is None:
        return table_html
    # The chart first, then the table beside it, each at its own width; where the window is
    # too narrow for both, the table moves below the chart (never the chart below 50 rows).
    return (
        '<div class="azmodels-quota" style="display:flex;flex-wrap:wrap;gap:8px 24px;'
        f'align-items:flex-start"><div class="azmodels-quota-chart" style="flex:none" '
        f'title="{title}">{svg}</div><div style="flex:none;max-width:100%;overflow-x:auto">'
        f"{table_html}</div></div>"
    )
