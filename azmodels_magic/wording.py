"""How counts and suggestions are said, the same way in every message."""

from __future__ import annotations

import os
from collections.abc import Iterable


def plural(n: int, word: str) -> str:
    """'1 model', '3 models'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def did_you_mean(name: str, names: Iterable[str], otherwise: str) -> str:
    """' Did you mean a, b?' for close names, else ' ' + otherwise (a leading space either way)."""
    import difflib

    close = difflib.get_close_matches(name, sorted(set(names)), n=3, cutoff=0.6)
    return f" Did you mean {', '.join(close)}?" if close else f" {otherwise}"


def since(seconds: float) -> str:
    """A time difference as people say it: 'just now', '5 minutes ago', 'in 3 months'."""
    future = seconds < 0
    span = abs(seconds)
    if span < 60:
        return "just now"
    for unit, size, up_to in (
        ("minute", 60, 3600),
        ("hour", 3600, 2 * 86400),
        ("day", 86400, 60 * 86400),
        ("month", 30.44 * 86400, 730 * 86400),
        ("year", 365.25 * 86400, float("inf")),
    ):
        if span < up_to:
            text = plural(max(1, round(span / size)), unit)
            return f"in {text}" if future else f"{text} ago"
    raise AssertionError("unreachable")


def moment(value: object, now: object = None) -> str:
    """An ISO time (or datetime) in the reader's terms: '2026-11-27 23:52 UTC, 5 minutes ago';
    a date at midnight (a retirement date) as '2026-06-30, in 7 months'. '' when unreadable."""
    from datetime import UTC, datetime

    if isinstance(value, datetime):
        when = value
    else:
        text = str(value or "").strip()
        if not text:
            return ""
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    reference = now if isinstance(now, datetime) else datetime.now(UTC)
    relative = since((reference - when).total_seconds())
    if (when.hour, when.minute, when.second, when.microsecond) == (0, 0, 0, 0):
        return f"{when:%Y-%m-%d}, {relative}"
    return f"{when:%Y-%m-%d %H:%M} UTC, {relative}"


def escaped(name: str) -> str:
    """`name` printable on one line: control characters as \\xNN, bytes that are not UTF-8 (the
    surrogates os.fsdecode makes of them) as \\xNN too."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return "".join(
        ch if ch.isprintable() else f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"
        for ch in text
    )
