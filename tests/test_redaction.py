"""Secrets never survive redaction: SAS queries, bearer tokens, keys."""

from __future__ import annotations

import logging

from azmodels_magic.errors import NotFoundError
from azmodels_magic.redaction import get_logger, redact, strip_query

SAS = (
    "https://acct.blob.core.windows.net/c/model.bin?sv=2024-05-04&se=2026-01-01T00%3A00Z"
    "&sr=c&sp=racwl&sig=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789%2B%2F%3D"
)


def test_sas_query_is_removed_whole():
    text = redact(f"PUT {SAS} failed")
    assert "sig=" not in text
    assert "AbCdEf" not in text
    assert "sp=racwl" not in text
    assert text.startswith("PUT https://acct.blob.core.windows.net/c/model.bin?<redacted>")


def test_bearer_tokens_and_keys_are_removed():
    token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.payload.signature"
    text = redact(
        f"Authorization: Bearer {token}; AccountKey=abc123==; api-key: 0123abcd; "
        f'{{"key1": "secretvalue"}}'
    )
    for secret in (token, "abc123==", "0123abcd", "secretvalue"):
        assert secret not in text


def test_plain_text_is_untouched():
    text = "Deployment 'chat' not found (request id 1234)"
    assert redact(text) == text


def test_strip_query():
    assert strip_query(SAS) == "https://acct.blob.core.windows.net/c/model.bin"


def test_errors_redact_their_message_at_construction():
    error = NotFoundError(f"blob {SAS} missing", request_id="r-1")
    for rendered in (str(error), repr(error), error.message):
        assert "sig=" not in rendered
    assert "r-1" in str(error)


def test_logger_records_are_redacted(caplog):
    log = get_logger("azmodels_magic.test")
    with caplog.at_level(logging.DEBUG, logger="azmodels_magic.test"):
        log.debug("sending %s with %s", SAS, "Bearer abc.def.ghi")
    assert caplog.records
    text = caplog.text
    assert "sig=" not in text
    assert "abc.def.ghi" not in text
    assert "<redacted>" in text


def test_quoted_keys_are_redacted():
    assert redact("{'api-key': 'abc123'}") == "{'api-key': '<redacted>'}"
    assert redact('{"access_token": "eyJ0eXAi.x.y"}') == '{"access_token": "<redacted>"}'
    assert redact("headers={'api_key': 'abc123'}") == "headers={'api_key': '<redacted>'}"


def test_unquoted_account_keys_are_redacted():
    assert redact("key1=SECRET") == "key1=<redacted>"
    assert redact("key2: SECRET, key1: OTHER") == "key2: <redacted>, key1: <redacted>"


def test_percent_encoded_sas_is_redacted():
    url = "https://x.example/login?next=https%3A%2F%2Fa.blob%2Fc%3Fsv%3D1%26sig%3DSECRET%2B%3D"
    text = redact(f"open {url} now")
    assert "SECRET" not in text
    assert "sv%3D1" not in text
    assert text == "open https://x.example/login?<redacted> now"  # the outer query goes whole
    nested = redact("blob=https%3A%2F%2Fa.blob%2Fc%3Fsv%3D1%26sig%3DSECRET")
    assert nested == "blob=https%3A%2F%2Fa.blob%2Fc%3F<redacted>"
    assert "SECRET" not in redact("sv%3D1%26sig%3DSECRET%26se%3D2")
    assert redact("sv%3D1%26sig%3DSECRET%26se%3D2") == "sv%3D1%26sig%3D<redacted>%26se%3D2"


def test_ordinary_words_are_untouched():
    for text in (
        "Deployment 'chat' not found (request id 1234)",
        "signal=3",
        "design%3Dx, monkey1=3, keys: 2, the key is 'k', turkey2: roast",
        "https://example.com/a?sv=1&sp=r",
    ):
        assert redact(text) == text
