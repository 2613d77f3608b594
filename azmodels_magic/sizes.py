"""Human-readable sizes and rates, in decimal units like the Azure portal."""

from __future__ import annotations

_UNITS = ("B", "KB", "MB", "GB", "TB", "PB")


def human_size(n: int | float) -> str:
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1000 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def human_rate(bytes_per_second: float) -> str:
    return f"{human_size(bytes_per_second)}/s"
