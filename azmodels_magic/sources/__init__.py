"""Where an upload's bytes come from: one interface for a local file or folder and for remote
sources (an https URL, another blob, a model hub), so the upload path is written once and a new
source is one module.

A source lists its files with sizes (and what it declares about them), opens any of them for
reading (headers, hashing: a seekable binary reader, local or by ranged HTTP reads) and, when the
storage service can fetch the bytes itself, hands a URL for a server-side copy.
"""

from __future__ import annotations

# The types live in the core (records and results name them); this package implements them.
from ..records import Source, SourceFile

__all__ = ["Source", "SourceFile"]
