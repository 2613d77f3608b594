"""Errors: one redacted line, whatever the exception carried."""

from __future__ import annotations

SAS = "https://acct.blob.core.windows.net/c/model.bin?sv=2024-05-04&sr=c&sp=racwl&sig=AbCdEf0123456789%2B%3D"


def test_unexpected_errors_are_one_redacted_line():
    from azmodels_magic.errors import internal_error_text

    text = internal_error_text(ValueError(f"bad {SAS}\nsecond line"))
    assert "sig=" not in text and "\n" not in text
    assert text.startswith("ValueError: bad https://acct.blob.core.windows.net/c/model.bin?")
    assert "This is a bug in azmodels" in text


def test_a_malformed_storage_address_never_echoes_its_sas():
    from azmodels_magic.clients.storage import delete_blobs
    from azmodels_magic.errors import AzModelsError

    try:
        delete_blobs("not-a-url?sv=1&sig=SECRETSIGNATUREVALUE")
    except AzModelsError as exc:
        assert "SECRETSIGNATUREVALUE" not in str(exc)
    else:
        raise AssertionError("a malformed address must be refused")


def test_sign_in_hints_name_commands_in_each_front_ends_syntax():
    from azmodels_magic.errors import SANDBOX_SIGN_IN_HINT, AuthenticationError
    from azmodels_magic.steps import NOTEBOOK, PYTHON, TERMINAL

    magic_syntax, python_syntax = NOTEBOOK.write, PYTHON.write

    error = AuthenticationError("The service refused the token.")
    assert "(or use the sandbox: `azmodels sandbox start`)." in error.text(TERMINAL.write)
    assert "(or use the sandbox: `az.run('sandbox start')`)." in str(error)  # Python's process
    assert "(or use the sandbox: `%azmodels sandbox start`)." in error.text(magic_syntax)
    assert "`az.run('sandbox start')`" in error.text(python_syntax)
    # The HTTP plane swaps in the sandbox's hint on a 401 from it: the same steps fill it.
    error.hint = SANDBOX_SIGN_IN_HINT
    text = error.text(magic_syntax)
    assert "Reconnect with `%azmodels connect --sandbox URL` (its ARM endpoint, shown by " in text
    assert "`%azmodels sandbox status`), or start a new one with `%azmodels sandbox start`." in text
    assert "{" not in text


def test_python_users_catch_our_errors_by_the_builtin_category():
    from azmodels_magic import errors

    expected = {
        errors.UsageError: ValueError,
        errors.ValidationError: ValueError,
        errors.NotFoundError: LookupError,
        errors.AuthenticationError: PermissionError,
        errors.PermissionDeniedError: PermissionError,
        errors.OperationTimeoutError: TimeoutError,
    }
    for cls, builtin in expected.items():
        try:
            raise cls(f"{SAS} was refused", code="Code", request_id="rid")
        except builtin as exc:
            # Still ours in every way: the one redacted line, the fields, the base class.
            assert isinstance(exc, errors.AzModelsError)
            assert "sig=" not in str(exc) and "sig=" not in repr(exc)
            assert exc.code == "Code" and "(request id rid)" in str(exc)
    # A status maps to the class that is both.
    assert issubclass(errors.error_for_status(404, None), LookupError)
    assert issubclass(errors.error_for_status(400, None), ValueError)
    assert not issubclass(errors.ConflictError, (ValueError, LookupError, OSError))
