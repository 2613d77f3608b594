"""Credentials: azure-identity's DefaultAzureCredential unless the caller brings its own.

One token scope per plane (ARM, Foundry). Tokens are cached until five minutes before they
expire. Any failure to get a token becomes one `AuthenticationError` line with the sign-in hint.
"""

from __future__ import annotations

import threading
import time
from typing import Any, NamedTuple, Protocol

from .errors import AuthenticationError, AzModelsError

FOUNDRY_SCOPE = "https://ai.azure.com/.default"
_REFRESH_MARGIN = 300  # seconds before expiry when a cached token is renewed


class AccessToken(NamedTuple):
    """Same shape as azure.core.credentials.AccessToken, without importing azure at load time."""

    token: str
    expires_on: int

    def __repr__(self) -> str:
        return f"AccessToken(token=<redacted>, expires_on={self.expires_on})"


class TokenCredential(Protocol):
    def get_token(self, *scopes: str, **kwargs: Any) -> Any: ...


def arm_scope(arm_endpoint: str) -> str:
    return arm_endpoint.rstrip("/") + "/.default"


class StaticTokenCredential:
    """A fixed bearer token: what the sandbox hands out. Never shows the token in its repr."""

    def __init__(self, token: str, *, lifetime: int = 24 * 3600) -> None:
        self._token = token
        self._lifetime = lifetime

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + self._lifetime)

    def __repr__(self) -> str:
        return "StaticTokenCredential(<redacted>)"


def default_credential(tenant_id: str | None = None) -> TokenCredential:
    """DefaultAzureCredential (env vars, managed identity, az, azd, ...), imported on first use."""
    from azure.identity import DefaultAzureCredential

    kwargs: dict[str, Any] = {"exclude_interactive_browser_credential": True}
    if tenant_id:
        kwargs["additionally_allowed_tenants"] = ["*"]
        kwargs["interactive_browser_tenant_id"] = tenant_id
    return DefaultAzureCredential(**kwargs)


class TokenProvider:
    """Gets and caches bearer tokens per scope from a credential made on first need."""

    def __init__(self, credential: TokenCredential | None = None, *, tenant_id: str = "") -> None:
        self._credential = credential
        self._tenant_id = tenant_id
        self._cache: dict[str, AccessToken] = {}
        self._lock = threading.Lock()

    @property
    def tenant_id(self) -> str:
        """The tenant tokens are asked for ("": the credential's own)."""
        return self._tenant_id

    @property
    def credential(self) -> TokenCredential:
        if self._credential is None:
            self._credential = default_credential(self._tenant_id or None)
        return self._credential

    def token(self, scope: str) -> str:
        with self._lock:
            cached = self._cache.get(scope)
            if cached and cached.expires_on - _REFRESH_MARGIN > time.time():
                return cached.token
            try:
                # DefaultAzureCredential signs in to its home tenant unless asked for another.
                extra = {"tenant_id": self._tenant_id} if self._tenant_id else {}
                got = self.credential.get_token(scope, **extra)
            except AzModelsError:
                raise
            except Exception as exc:  # azure-identity raises many kinds; all mean "not signed in"
                first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise AuthenticationError(
                    f"Could not get an Azure token for {scope}"
                    + (f": {first_line[:200]}" if first_line else ".")
                ) from None
            self._cache[scope] = AccessToken(got.token, int(got.expires_on))
            return got.token

    def forget(self) -> None:
        """Drop cached tokens (after a 401 the next call asks the credential again)."""
        with self._lock:
            self._cache.clear()

    def __repr__(self) -> str:
        return f"TokenProvider({type(self._credential).__name__ if self._credential else 'lazy'})"
