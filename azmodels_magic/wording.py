"""How counts and suggestions are said, the same way in every message."""

from __future__ import annotations

from collections.abc import Iterable


def plural(n: int, word: str) -> str:
    """'1 model', '3 models'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def did_you_mean(name: str, names: Iterable[str], otherwise: str) -> str:
    """' Did you mean a, b?' for close names, else ' ' + otherwise (a leading space either way)."""
    import difflib

    close = difflib.get_close_matches(name, sorted(set(names)), n=3, cutoff=0.6)
    return f" Did you mean {', '.join(close)}?" if close else f" {otherwise}"
