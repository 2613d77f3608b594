"""TokenProvider: the configured tenant reaches the credential on every token request."""

from __future__ import annotations

import time
from typing import Any

from azmodels_magic.auth import AccessToken, TokenProvider

SCOPE = "https://management.azure.com/.default"


class RecordingCredential:
    """A stand-in for Microsoft Entra ID: records what each get_token call asked for."""

    def __init__(self) -> None:
        self.calls: list[tuple[tuple[str, ...], dict[str, Any]]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls.append((scopes, kwargs))
        return AccessToken(f"token-{len(self.calls)}", int(time.time()) + 3600)


def test_the_tenant_is_passed_to_get_token():
    credential = RecordingCredential()
    tokens = TokenProvider(credential, tenant_id="11111111-2222-3333-4444-555555555555")
    assert tokens.token(SCOPE) == "token-1"
    assert credential.calls == [((SCOPE,), {"tenant_id": "11111111-2222-3333-4444-555555555555"})]


def test_without_a_tenant_get_token_gets_only_the_scope():
    credential = RecordingCredential()
    TokenProvider(credential).token(SCOPE)
    assert credential.calls == [((SCOPE,), {})]


def test_tokens_are_cached_per_scope_and_forgotten_on_request():
    credential = RecordingCredential()
    tokens = TokenProvider(credential, tenant_id="t")
    assert tokens.token(SCOPE) == tokens.token(SCOPE) == "token-1"
    tokens.forget()
    assert tokens.token(SCOPE) == "token-2"
    assert all(kwargs == {"tenant_id": "t"} for _, kwargs in credential.calls)
