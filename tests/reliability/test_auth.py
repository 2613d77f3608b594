"""Auth: an expired or invalid token, or a credential that cannot give one, says how to sign in;
a token without the role (the sandbox's reader token: reads pass, writes get 403) says which role
to ask for. Always one line, through the API and the magic alike.
"""

from __future__ import annotations

import time

import pytest
from reliability_support import BLOCK, Raw, magic_app_on, make_weights, one_line, start_app

from azmodels_magic import AzModels
from azmodels_magic.auth import AccessToken
from azmodels_magic.errors import AuthenticationError, PermissionDeniedError


@pytest.fixture(scope="module")
def sandbox():
    az = start_app()
    yield az
    az.close()


class Tokens:
    """A credential handing out the given tokens in turn (the last one forever)."""

    def __init__(self, *tokens: str, expires_in: int = 3600) -> None:
        self.tokens = list(tokens)
        self.calls = 0
        self.expires_in = expires_in

    def get_token(self, *scopes, **kwargs):
        token = self.tokens[min(self.calls, len(self.tokens) - 1)]
        self.calls += 1
        return AccessToken(token, int(time.time()) + self.expires_in)


class Unavailable:
    """Like DefaultAzureCredential when nothing is signed in: raises, with a long message."""

    def get_token(self, *scopes, **kwargs):
        from azure.identity import CredentialUnavailableError

        raise CredentialUnavailableError(
            message="DefaultAzureCredential failed to retrieve a token from the included "
            "credentials.\nAttempted credentials:\n\tEnvironmentCredential: EnvironmentCredential "
            "authentication unavailable.\n\tAzureCliCredential: Please run 'az login' to set up "
            "an account\nTo mitigate this issue, please refer to the troubleshooting guidelines"
        )


def connect(sandbox, credential) -> AzModels:
    info = sandbox.sandbox_info
    app = AzModels(progress=False, retry_backoff=0.05, poll_interval=0.1)
    app.use_sandbox(info, credential=credential)
    return app


def check_sign_in_hint(error: BaseException) -> None:
    assert isinstance(error, AuthenticationError), repr(error)
    text = str(error)
    assert "az login" in text and one_line(text), text


# -- invalid and expired tokens ---------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [lambda: Tokens("not-a-real-token"), lambda: Tokens("expired-token", expires_in=-60)],
    ids=["invalid", "expired"],
)
@pytest.mark.parametrize(
    "command", ["list --type base", "list --type custom", "deployments list", "show gpt-4o"]
)
def test_bad_token_gives_the_sign_in_hint(sandbox, make, command) -> None:
    credential = make()
    app = connect(sandbox, credential)
    with pytest.raises(AuthenticationError) as caught:
        app.run(command)
    check_sign_in_hint(caught.value)
    assert "not-a-real-token" not in str(caught.value)
    assert credential.calls == 2, "after a 401 a fresh token is asked for once, not forever"


def test_a_token_that_expired_in_flight_is_renewed(sandbox) -> None:
    """The first token is refused (401); the credential's next one works: no error at all."""
    credential = Tokens("stale-token", sandbox.sandbox_info.token)
    app = connect(sandbox, credential)
    assert len(app.run("list --type base")) == 34
    assert credential.calls == 2


def test_credential_that_raises_gives_the_sign_in_hint_in_one_line(sandbox) -> None:
    app = connect(sandbox, Unavailable())
    with pytest.raises(AuthenticationError) as caught:
        app.run("deployments list")
    check_sign_in_hint(caught.value)
    assert "DefaultAzureCredential failed" in str(caught.value)


def test_magic_shows_the_sign_in_hint_in_one_line(shell, capsys, sandbox) -> None:
    info = sandbox.sandbox_info
    with magic_app_on(shell) as app:
        for credential in (Tokens("wrong"), Unavailable()):
            app.set_connection(
                credential=credential,
                project_endpoint=info.project_endpoint,
                subscription_id=info.subscription_id,
                resource_group=info.resource_group,
                account=info.account,
                arm_endpoint=info.arm_endpoint,
            )
            capsys.readouterr()
            result = shell.run_cell("%azmodels deployments list")
            out = capsys.readouterr()
            text = out.out + out.err
            assert result.error_in_exec is not None
            assert "AuthenticationError" in text and "az login" in text, text
            assert one_line(text) and "Traceback" not in text, text


# -- signed in without the role: 403 ----------------------------------------------------------


@pytest.fixture(scope="module")
def reader(sandbox, tmp_path_factory):
    """The sandbox's reader token, and something for it to try to change."""
    az = sandbox
    az.uploads.block_size = BLOCK
    az.uploads.upload(
        base_model="gpt-4o",
        source=str(make_weights(tmp_path_factory.mktemp("auth"))),
        name="owned",
        progress=False,
    )
    az.deployments.deploy(model="gpt-4o", deployment_name="owned-dep", capacity=1)
    app = connect(sandbox, Tokens(sandbox.sandbox_info.reader_token))
    app.uploads.block_size = BLOCK
    return app


def test_reader_can_read(reader) -> None:
    assert len(reader.run("list --type base")) == 34
    assert "owned" in list(reader.run("list --type custom")["name"])
    assert "owned-dep" in list(reader.run("deployments list")["deployment"])


@pytest.mark.parametrize(
    "command",
    [
        "deploy --name gpt-4o --deployment-name reader-dep --capacity 1",
        "deployments scale --name owned-dep --capacity 2",
        "deployments delete --name owned-dep --force",
        "delete --name owned --force",
        "update --name owned --version 1 --description changed",
        "upload --base-model gpt-4o --source {weights} --name reader-model",
    ],
    ids=["deploy", "scale", "delete-deployment", "delete-model", "update", "upload"],
)
def test_write_without_the_role_gives_the_role_hint(reader, sandbox, tmp_path, command) -> None:
    raw = Raw(sandbox.sandbox_info)
    before = raw.snapshot()
    line = command.format(weights=make_weights(tmp_path))
    with pytest.raises(PermissionDeniedError) as caught:
        reader.run(line)
    text = str(caught.value)
    assert "role" in text and ("Azure AI User" in text or "Contributor" in text), text
    assert one_line(text), text
    assert sandbox.sandbox_info.reader_token not in text
    assert raw.snapshot() == before, "a refused write changed something"


def test_show_says_when_the_stored_files_cannot_be_listed(reader, sandbox) -> None:
    """The credentials route refuses the reader (a POST): show still shows the model, and says
    why its file list is missing instead of showing an empty one."""
    from azmodels_magic.presentation.cards import card_for

    assert sandbox.run("show owned").files  # the owner sees them
    details = reader.run("show owned")
    assert details.files == []
    assert details.files_warning.startswith("The stored files could not be listed:")
    assert "\n" not in details.files_warning
    assert details.to_dict()["files_warning"] == details.files_warning
    assert details.files_warning in card_for(details).text(columns=1000)  # unwrapped
