"""The one reader of a remote `--source`: which kind it is, and why it is refused (one line).

`hf://ORG/REPO[@REVISION][/SUBFOLDER]` is a model hub's repository; an https URL is Azure Blob
storage when it names it (a blob endpoint, or a SAS in its query), else one file at that URL.
Plain http goes to loopback only, and a URL two parsers could read differently is refused
(`http.origin.origin_of`). Anything else with a scheme is refused; text without one is a local
path (None here).
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import ValidationError
from ..http.backoff import TransportSettings
from . import Source
from .blob import BlobSource, is_blob_url
from .hub import SPEC_FORM, HubSource
from .url import UrlSource, checked_url, shown_url

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")  # one letter: a Windows drive
KINDS = f"a local path, an https URL (of a file, a blob, or a container with a SAS) or {SPEC_FORM}"


def remote_source(
    text: str,
    *,
    settings: TransportSettings | None = None,
    credential: Any = None,
) -> Source | None:
    """The remote source `text` names, or None when it is a local path. `credential`: the
    user's Entra credential, used for an Azure blob source without a SAS (and only there)."""
    match = _SCHEME.match(text)
    if match is None:
        return None
    scheme = match.group(1).lower()
    if scheme == "hf":
        return HubSource(text, settings=settings)
    if scheme not in ("http", "https"):
        raise ValidationError(
            f"Refusing source '{shown_url(text)[:200]}': {scheme}:// is not a source azmodels "
            f"reads. Give {KINDS}."
        )
    checked_url(text)
    if is_blob_url(text):
        return BlobSource(text, credential=credential, settings=settings)
    return UrlSource(text, settings=settings)
