"""The error hierarchy: every failure a user can meet is an `AzModelsError` with one clear line.

Errors from a service carry its code, message and request id (`x-ms-request-id`). The text is
redacted when the error is made, so a secret can't leak through `str()`, `repr()` or a log.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .redaction import redact
from .steps import NextStep, Syntax, fill, plain

# The characters that must not reach a screen as they are: C0 controls but tab (line breaks
# included), DEL, C1 controls (an 8-bit CSI drives a terminal as ESC [ does), line and paragraph
# separators, bidi marks, embeddings, overrides and isolates, and zero-width or invisible format
# characters (they reorder or hide what a line says). The one class: error lines escape them
# (`one_line`), text from the service shown in tables and cards drops them (presentation.text).
UNSAFE_CHARACTERS = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e"
    "\u2060-\u2064\u2066-\u2069\ufeff]"
)


def one_line(text: str) -> str:
    """`text` on one line that cannot drive a terminal: line breaks, control characters and
    invisible marks escaped (\\n, \\x9b, \\u202e...)."""
    return UNSAFE_CHARACTERS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


# A word this long in an error line is an echoed value no one could read (a 200,000-character
# name): it is cut, keeping its start, its end and its length.
_LONG_WORD = re.compile(r"\S{200,}")


def cut_long_words(text: str) -> str:
    """`text` with each run of 200 or more non-space characters cut to its ends and length."""
    return _LONG_WORD.sub(
        lambda m: f"{m.group()[:80]}…{m.group()[-20:]} ({len(m.group()):,} characters)", text
    )


# The commands both sign-in hints name, as {0}, {1}, {2}: every AuthenticationError carries them
# (the HTTP plane swaps in the sandbox's hint on a 401 from it).
SIGN_IN_STEPS = (
    NextStep.of("sandbox start"),
    NextStep.of("connect", sandbox="URL"),
    NextStep.of("sandbox status"),
)
SIGN_IN_HINT = (
    "Sign in with `az login` or `azd auth login`, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and "
    "AZURE_CLIENT_SECRET (or use the sandbox: {0})."
)
SANDBOX_SIGN_IN_HINT = (
    "The sandbox did not accept its token: it was probably restarted (each start has a new "
    "token). Reconnect with {1} (its ARM endpoint, shown by {2}), or start a new one with {0}."
)
ROLE_HINT = (
    "Ask an owner of the project for the 'Azure AI User' role on the Foundry project (or "
    "'Cognitive Services Contributor' on the account for deployments)."
)


class AzModelsError(Exception):
    """Base of every error azmodels raises on purpose.

    Where a builtin category fits, an error is that builtin too, so Python code catches it as it
    catches any other: `ValidationError` and `UsageError` are `ValueError`s, `NotFoundError` a
    `LookupError`, `AuthenticationError` and `PermissionDeniedError` `PermissionError`s,
    `OperationTimeoutError` a `TimeoutError`. (The builtin comes second: `str()`, `repr()` and
    the fields are ours.) Conflicts, quota, service failures and cancellations have no builtin
    that means the same and stay plain `AzModelsError`s."""

    default_hint: str | None = None
    default_steps: tuple[NextStep, ...] = ()  # what default_hint's {0}, {1}... name

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        hint: str | None = None,
        details: list[dict[str, Any]] | None = None,
        steps: Sequence[NextStep] = (),
    ) -> None:
        # `message` and `hint` may name commands as {0}, {1}...: the steps, which each front end
        # writes in its own syntax (`text(syntax)`); `str()` uses the process's (`steps.plain`).
        self.steps = tuple(steps) or self.default_steps
        self.message = redact(message)
        self.code = code
        self.status = status
        self.request_id = request_id
        self.hint = redact(hint) if hint else self.default_hint
        self.details = details or []
        super().__init__(self.message)

    # The syntax `str()` names commands in: the process's (Python's, the terminal's while the CLI
    # runs), unless the front end the error passed through set its own (`AzModels.execute` does).
    syntax: Syntax = staticmethod(plain)

    def __str__(self) -> str:
        return self.text(self.syntax)

    def text(self, syntax: Syntax = plain) -> str:
        """The one line, with the commands it names written in `syntax`."""
        text = self.message
        if self.code and self.code not in text:
            text = f"{text} [{self.code}]"
        if self.request_id:
            text = f"{text} (request id {self.request_id})"
        if self.hint and self.hint not in text:
            text = f"{text} {self.hint}"
        return cut_long_words(one_line(fill(text, self.steps, syntax)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class UsageError(AzModelsError, ValueError):
    """The command line was wrong: unknown command or flag, a missing or malformed value."""


class NotConnectedError(AzModelsError):
    """A setting the command needs (subscription, project endpoint...) is not set: an error
    of the session, not of the command line (the CLI exits 1, not 2)."""


class HelpRequested(AzModelsError):
    """`--help` or `help` was asked for; the message is the help text."""

    def __str__(self) -> str:
        return self.message  # many lines, on purpose


class ValidationError(AzModelsError, ValueError):
    """Input the service (or our checks before calling it) refuses: names, versions, SKUs..."""


class NotFoundError(AzModelsError, LookupError):
    """The model, version, deployment or operation does not exist."""


class ConflictError(AzModelsError):
    """The thing already exists, or is in a state that forbids the change."""


class AuthenticationError(AzModelsError, PermissionError):
    """No credential, or the service did not accept it (401)."""

    default_hint = SIGN_IN_HINT
    default_steps = SIGN_IN_STEPS


class PermissionDeniedError(AzModelsError, PermissionError):
    """Signed in, but without the role the operation needs (403)."""

    default_hint = ROLE_HINT


class QuotaExceededError(AzModelsError):
    """The subscription or account has no quota left for this SKU or region."""


class ServiceError(AzModelsError):
    """The service failed (5xx) or kept throttling after every retry."""


class OperationFailedError(AzModelsError):
    """A long-running operation ended Failed or Canceled."""


class OperationTimeoutError(AzModelsError, TimeoutError):
    """A long-running operation did not finish in time; it may still finish on the service."""


class UploadError(AzModelsError):
    """Weights could not be transferred; the journal keeps what was sent so a re-run resumes."""


class CancelledError(AzModelsError):
    """The user declined a confirmation."""


_BY_STATUS: dict[int, type[AzModelsError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    412: ConflictError,
    422: ValidationError,
}
_QUOTA_CODES = {"insufficientquota", "quotaexceeded", "specialfeatureorquotaidrequired"}


def error_for_status(status: int, code: str | None) -> type[AzModelsError]:
    """The error class for an HTTP status and service error code."""
    if code and code.lower() in _QUOTA_CODES:
        return QuotaExceededError
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status == 429 or status >= 500:
        return ServiceError
    return AzModelsError


NOTEBOOK_DEBUG_HINT = "`%config AzModels.debug = True` shows the traceback for a report."
CLI_DEBUG_HINT = "rerun with AZMODELS_DEBUG=1 to see the traceback for a report."


def internal_error_text(exc: BaseException, debug_hint: str = NOTEBOOK_DEBUG_HINT) -> str:
    """One redacted line for an exception that is not ours: a bug, said plainly."""
    return one_line(redact(f"{type(exc).__name__}: {exc}. This is a bug in azmodels; {debug_hint}"))
