"""The chart beside the quota table: % used of the quotas in use, saying what it shows."""

from __future__ import annotations

import re

from azmodels_magic.presentation.quota_views import (
    CHART_ROWS,
    chart_rows,
    chart_title,
    quota_chart_svg,
    quota_frame,
    with_chart,
)
from azmodels_magic.records import QuotaUsage


def _frame(used: dict[int, int], count: int = 56):
    return quota_frame(
        QuotaUsage(region="eastus", usage_name=f"OpenAI.Standard.m{i}", used=used.get(i, 0),
                   limit=1000)
        for i in range(count)
    )  # fmt: skip


def test_the_chart_draws_the_quotas_in_use_fullest_first_and_says_so():
    frame = _frame({3: 2, 7: 1000, 9: 350})
    rows = chart_rows(frame)
    assert list(rows["usage_name"]) == ["OpenAI.Standard.m7", "OpenAI.Standard.m9",
                                        "OpenAI.Standard.m3"]  # fmt: skip
    assert chart_title(frame) == "% of quota used: top 3 of 56 by use (53 unused)"
    svg = quota_chart_svg(frame)
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert texts[:5] == ["0%", "25%", "50%", "75%", "100%"]  # the axis is % of each limit
    assert "1,000 / 1,000 (100%)" in texts and "350 / 1,000 (35%)" in texts
    assert "2 / 1,000 (0.2%)" in texts  # a small use is said exactly, not a sliver alone
    assert "OpenAI.Standard.m0" not in texts  # unused quotas are in the table, not the chart
    assert chart_title(frame) in texts
    assert texts[-3:] == ["used", "full", "limit (100%)"]  # the legend, below the bars


def test_many_in_use_the_chart_shows_the_top_ones():
    frame = _frame({i: 10 * (i + 1) for i in range(20)})
    assert chart_title(frame) == f"% of quota used: top {CHART_ROWS} of 56 by use (36 unused)"
    svg = quota_chart_svg(frame)
    assert "OpenAI.Standard.m19" in svg and "OpenAI.Standard.m0<" not in svg
    assert svg.count("OpenAI.Standard.m") == CHART_ROWS


def test_the_chart_sits_beside_the_table_and_nothing_in_use_is_one_line():
    frame = _frame({1: 5})
    shown = with_chart(frame, "<table>the table</table>")
    assert 'class="azmodels-quota"' in shown and "display:flex" in shown
    # The chart first: beside the table, or above it in a narrow window (never below 50 rows).
    assert shown.index("<svg") < shown.index("the table")
    idle = with_chart(_frame({}), "<table>the table</table>")
    assert "<svg" not in idle and "No quota in use: all 56 at 0." in idle
