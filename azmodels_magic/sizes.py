"""Human-readable sizes and rates, in decimal units like the Azure portal."""

from __future__ import annotations


def human_size(n: int | float) -> str:
    """A byte count in decimal units: "512 B", "3.4 MB", "1.2 GB"."""
    if n < 1000:
        return f"{int(n)} B"
    value = float(n)
    for unit in ("KB", "MB", "GB", "TB", "PB"):
        value /= 1000
        # round first so 999,960 B shows as "1.0 MB", not "1000.0 KB"
        if round(value, 1) < 1000 or unit == "PB":
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def human_rate(bytes_per_second: float) -> str:
    return f"{human_size(bytes_per_second)}/s"
