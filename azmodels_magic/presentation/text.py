"""Text from the service or from weight files, made safe to show, and cut to fit a table cell.

Descriptions, tags and GGUF metadata are written by whoever published them. Before any of it
reaches a terminal or HTML, terminal control sequences (ANSI CSI/OSC/DCS strings, C0 and C1
controls) and the invisible Unicode marks that reorder or hide text (bidi overrides, zero-width
characters) are removed, so a value can neither drive the terminal nor disguise what it says.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import UNSAFE_CHARACTERS

_SEQUENCES = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]                # CSI ... final byte (colours, cursor moves)
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])        # OSC, DCS, SOS, PM, APC ...
      [^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?          # ... up to BEL or ST (or the end)
    | \x1b[ -/]*[0-~]?                               # any other escape
    """,
    re.VERBOSE,
)
ELLIPSIS = "…"


def clean(text: str, *, lines: bool = True) -> str:
    """`text` without control sequences or invisible marks; tabs become spaces. With
    `lines=False` (a table cell) newlines become spaces too."""
    if text.isprintable():  # the common case, checked in C
        return text
    text = _SEQUENCES.sub("", text).replace("\t", " ")
    kept = [UNSAFE_CHARACTERS.sub("", line) for line in text.split("\n")]
    return ("\n" if lines else " ").join(kept)


def clean_value(value: Any) -> Any:
    """A DataFrame cell made safe: strings cleaned (one line), lists of strings item by item."""
    if isinstance(value, str):
        return clean(value, lines=False)
    if isinstance(value, list):
        return [clean(v, lines=False) if isinstance(v, str) else v for v in value]
    return value


def cut(text: str, width: int) -> str:
    """`text` in at most `width` characters, ending with … when cut."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: width - 1] + ELLIPSIS
