"""The sandbox's logging: records pass a filter that removes SAS signatures and bearer tokens.

The sandbox's own minimal version of the client's redaction (the wings share no code): its logs
hold request lines with SAS query strings and Authorization headers of the client.
"""

from __future__ import annotations

import logging
import re

_SECRETS = [
    (re.compile(r"(?i)\b(sig(?:=|%3D))[^&\s\"'<>]+"), r"\1<redacted>"),
    (re.compile(r"(?i)\b(Bearer\s+)[A-Za-z0-9\-._~+/=]+"), r"\1<redacted>"),
    (re.compile(r"(?i)\b(AccountKey=)[^;\s\"'<>]+"), r"\1<redacted>"),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


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
    """A sandbox logger whose records are redacted before any handler sees them."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
