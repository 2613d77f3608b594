"""Settings precedence: session value > environment variable > built-in default."""

from __future__ import annotations

import pytest
from traitlets.config import Config

from azmodels_magic.api import AzModels
from azmodels_magic.config import is_loopback, validate_project_endpoint
from azmodels_magic.errors import ValidationError


def test_environment_variables_are_the_defaults(monkeypatch):
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "sub-from-env")
    monkeypatch.setenv("AZURE_RESOURCE_GROUP_NAME", "rg-env")
    app = AzModels()
    assert app.subscription_id == "sub-from-env"
    assert app.resource_group == "rg-env"
    assert app.arm_endpoint == "https://management.azure.com"


def test_session_values_beat_environment(monkeypatch):
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "sub-from-env")
    app = AzModels(subscription_id="sub-from-kwargs")
    assert app.subscription_id == "sub-from-kwargs"
    app.set_connection(subscription_id="sub-from-connect")
    assert app.subscription_id == "sub-from-connect"


def test_traitlets_config_beats_environment_and_last_write_wins(monkeypatch):
    monkeypatch.setenv("AZURE_LOCATION", "westus")
    config = Config()
    config.AzModels.location = "swedencentral"
    app = AzModels(config=config)
    assert app.location == "swedencentral"
    app.set_connection(location="eastus2")
    assert app.location == "eastus2"


def test_account_and_project_derive_from_the_endpoint(monkeypatch):
    monkeypatch.delenv("AZURE_ACCOUNT_NAME", raising=False)
    monkeypatch.delenv("AZURE_PROJECT_NAME", raising=False)
    app = AzModels(project_endpoint="https://contoso.services.ai.azure.com/api/projects/proj1")
    assert app.project_parts() == ("contoso", "proj1")
    app.set_connection(account="explicit")
    assert app.project_parts() == ("explicit", "proj1")


@pytest.mark.parametrize(
    "url",
    [
        "http://contoso.services.ai.azure.com/api/projects/p",  # plain http off loopback
        "https://contoso.services.ai.azure.com/projects/p",  # wrong path
        "https://contoso.services.ai.azure.com/api/projects/p/extra",
        "not a url",
    ],
)
def test_bad_project_endpoints_are_refused(url):
    with pytest.raises(ValidationError, match="not of the form"):
        validate_project_endpoint(url)


def test_loopback_http_is_allowed_for_the_sandbox():
    url = "http://127.0.0.1:8080/api/projects/sandbox-project/"
    assert validate_project_endpoint(url) == url.rstrip("/")


def test_missing_settings_name_what_to_set(monkeypatch):
    for name in ("AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP_NAME", "AZURE_ACCOUNT_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AZURE_PROJECT_ENDPOINT", raising=False)
    app = AzModels()
    with pytest.raises(Exception) as caught:
        app.connection.arm  # noqa: B018 - the property builds the client
    text = str(caught.value)
    assert "Not connected" in text
    assert "--subscription" in text
    assert "AZURE_SUBSCRIPTION_ID" in text


@pytest.mark.parametrize("host", ["127.0.0.1", "127.5.6.7", "::1", "[::1]", "localhost"])
def test_loopback_hosts_are_loopback(host):
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host",
    ["localhost.evil.com", "127.attacker.net", "::1.evil", "10.0.0.1", "example.com", "", None],
)
def test_hosts_that_only_start_like_loopback_are_not(host):
    assert not is_loopback(host)


def test_every_azmodels_variable_is_read_through_the_one_registry():
    """Each AZMODELS_* variable the client reads is declared once, in `environment`; no other
    module of the client names one on its own (in a message, as part of a sentence, is fine)."""
    import ast
    import re
    from pathlib import Path

    import azmodels_magic
    from azmodels_magic import environment

    package = Path(azmodels_magic.__file__).parent
    variable = re.compile(r"AZMODELS_[A-Z_]+")
    elsewhere = []
    for path in package.rglob("*.py"):
        if "sandbox" in path.relative_to(package).parts or path.name == "environment.py":
            continue  # the sandbox wing imports nothing of the client: it has its own
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and variable.fullmatch(text):
                elsewhere.append(f"{path.relative_to(package)}:{node.lineno} {text}")
    assert elsewhere == []
    names = [s.name for s in environment.SETTINGS]
    assert len(set(names)) == len(names)
    docs = (package.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert [n for n in names if f"`{n}`" not in docs] == []
    # The settings' family too: listed, and the CLI reads it through the registry.
    family = environment.SETTING_VARIABLES
    assert f"| `{family.name}` |" in docs
    assert "os.environ" not in (package / "cli.py").read_text(encoding="utf-8")
    given = {"AZMODELS_REGION_ACCOUNTS": '{"westus": "acct"}', "AZMODELS_PROJECT": "p1"}
    assert family.read("region_accounts", given) == {"westus": "acct"}
    assert family.read("project", given) == "p1"
    assert family.read("account", given) is None


def test_a_bad_azmodels_variable_is_one_line_naming_it():
    import pytest

    from azmodels_magic.environment import ACCOUNT_TIMEOUT, DEBUG
    from azmodels_magic.errors import ValidationError

    assert ACCOUNT_TIMEOUT.read({}) == 60.0
    assert ACCOUNT_TIMEOUT.read({"AZMODELS_ACCOUNT_TIMEOUT": " 2.5 "}) == 2.5
    for bad in ("soon", "0", "-1", "inf", "nan"):
        with pytest.raises(ValidationError) as caught:
            ACCOUNT_TIMEOUT.read({"AZMODELS_ACCOUNT_TIMEOUT": bad})
        assert str(caught.value).startswith(f"AZMODELS_ACCOUNT_TIMEOUT={bad!r} is not valid")
        assert "\n" not in str(caught.value)
    assert DEBUG.read({"AZMODELS_DEBUG": "1"}) is True
    assert DEBUG.read({"AZMODELS_DEBUG": "yes"}) is False  # only "1", as before
