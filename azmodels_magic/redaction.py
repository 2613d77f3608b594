"""Remove secrets from text before it reaches a message, a log record, a repr or a file.

Secrets here are SAS query strings (anything carrying `sig=`), bearer tokens, storage account
keys and `api-key` values. Every layer that formats text for people goes through `redact`.
"""

from __future__ import annotations

import logging
import re

REDACTED = "<redacted>"

# `sig=` as itself or percent-encoded (`sig%3D`, in a SAS URL nested in another URL's query);
# `\b` does not fire between `%26`/`%3F` and `sig`, hence the look-behinds.
_SIG = r"(?:\b|(?<=%26)|(?<=%3F))sig(?:=|%3D)"
# A URL query that carries a SAS signature: drop the whole query, its other fields (se, sp, sv,
# skoid...) say too much about the credential to be worth keeping.
_SAS_QUERY = re.compile(rf"(\?|%3F)(?=[^\s\"'<>]*?{_SIG})[^\s\"'<>#]*", re.IGNORECASE)
_LOOSE_SIG = re.compile(rf"({_SIG})(?:(?!%26)[^&\s\"'<>])+", re.IGNORECASE)
_BEARER = re.compile(r"\b(Bearer\s+)[A-Za-z0-9\-._~+/=]+", re.IGNORECASE)
# `name=value`, `name: value`, and quoted as in JSON or a Python dict: `'api-key': 'value'`.
_KEYS = re.compile(
    r"(\b(?:AccountKey|SharedAccessSignature|api[-_]?key|access_token|key[12])[\"']?"
    r"\s*[=:]\s*[\"']?)[^;\s\"',}]+",
    re.IGNORECASE,
)


def redact(text: object) -> str:
    """`text` as a string with every secret replaced by <redacted>."""
    value = str(text)
    if not value:
        return value
    value = _SAS_QUERY.sub(r"\1" + REDACTED, value)
    value = _LOOSE_SIG.sub(r"\1" + REDACTED, value)
    value = _BEARER.sub(r"\1" + REDACTED, value)
    return _KEYS.sub(r"\1" + REDACTED, value)


def strip_query(url: str) -> str:
    """A URL without its query string: how a SAS URI is stored or shown."""
    return url.split("?", 1)[0]


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with secrets removed (attach to handlers or loggers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactingFilter()


def get_logger(name: str) -> logging.Logger:
    """A logger of this package whose records are redacted before any handler sees them."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


_DEBUG_HANDLER: logging.Handler | None = None


def log_to_stderr(enabled: bool) -> None:
    """With debug on, the package's records (HTTP calls, retries, polls) go to stderr, redacted."""
    global _DEBUG_HANDLER
    root = get_logger("azmodels_magic")
    if enabled and _DEBUG_HANDLER is None:
        _DEBUG_HANDLER = logging.StreamHandler()
        _DEBUG_HANDLER.addFilter(_FILTER)
        _DEBUG_HANDLER.setFormatter(logging.Formatter("azmodels %(levelname)s %(message)s"))
        root.addHandler(_DEBUG_HANDLER)
        root.setLevel(logging.DEBUG)
    elif not enabled and _DEBUG_HANDLER is not None:
        root.removeHandler(_DEBUG_HANDLER)
        _DEBUG_HANDLER = None
        root.setLevel(logging.NOTSET)
