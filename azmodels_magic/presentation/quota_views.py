"""Quota, regions, accounts and every account's deployments as DataFrames with stable columns,
and the quota table's bar chart (used vs limit) for notebooks.

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
CHART_ROWS = 12  # the fullest quotas are charted; the table has them all


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


def quota_chart_svg(frame: pd.DataFrame) -> str | None:
    """Used vs limit of the fullest quotas as a small horizontal bar chart (SVG), or None when
    matplotlib is not installed or there is nothing to draw."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    shown = frame[frame["limit"].fillna(0) > 0]
    if shown.empty:
        return None
    share = shown["used"].astype(float) / shown["limit"].astype(float)
    shown = shown.assign(_share=share).sort_values(["_share", "used"], ascending=False)
    shown = shown.head(CHART_ROWS).iloc[::-1]
    several = shown["region"].nunique() > 1
    labels = [
        f"{r.usage_name} ({r.region})" if several else str(r.usage_name) for r in shown.itertuples()
    ]
    figure = Figure(figsize=(4.2, 0.28 * len(shown) + 0.7))
    axes = figure.add_subplot()
    positions = range(len(shown))
    axes.barh(positions, shown["limit"].astype(float), color="#dde3ea", label="limit")
    colours = ["#c0392b" if s >= 1 else "#2e86c1" for s in shown["_share"]]
    axes.barh(positions, shown["used"].astype(float), color=colours, label="used")
    axes.set_yticks(list(positions), labels, fontsize=7)
    axes.tick_params(axis="x", labelsize=7)
    axes.set_xlabel("capacity units", fontsize=7)
    axes.legend(fontsize=7, loc="lower right", frameon=False)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.tight_layout()
    import io

    from matplotlib import rc_context

    buffer = io.StringIO()
    # No date and fixed element ids: the same quota draws the same SVG (notebook diffs, nbval).
    with rc_context({"svg.hashsalt": "azmodels", "svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.find("<svg") :]


def with_chart(frame: pd.DataFrame, table_html: str) -> str:
    """The quota table with its chart beside it (the table alone without matplotlib)."""
    svg = quota_chart_svg(frame)
    if svg is None:
        return table_html
    title = html.escape("used vs limit")
    return (
        '<div class="azmodels-quota" style="display:flex;gap:16px;align-items:flex-start;'
        f'flex-wrap:wrap"><div>{table_html}</div><div title="{title}">{svg}</div></div>'
    )
