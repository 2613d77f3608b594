"""What every weights parser shares: the error for a bad header, the limits that bound the work.

The limits keep a hostile or broken file from costing unbounded time, memory or stack: a header
that exceeds one is reported as malformed, never parsed further.
"""

from __future__ import annotations

MAX_KEPT_STRING = 64 * 1024  # longer header strings (templates, licences) are skipped, not kept
MAX_JSON_BYTES = 16 * 1024 * 1024  # config.json and shard indexes above this are not read


class Malformed(Exception):
    """A header problem; the text follows the file's name ("model.gguf <text>")."""


FIX_ACCESS = "Make it readable (e.g. chmod +r) or move it out of the model's folder."


def reason(exc: OSError) -> str:
    """An OSError as the lower-case words users see ("permission denied")."""
    return (exc.strerror or str(exc)).lower()
