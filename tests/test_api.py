"""The facade's connection state: leaving the sandbox, tenants, settings that rebuild clients;
and the tests reach it only through its public API."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from traitlets.config import Config

from azmodels_magic.api import AzModels
from azmodels_magic.sandbox_launcher import SandboxInfo

INFO = SandboxInfo(
    arm_endpoint="http://127.0.0.1:9",
    project_endpoint="http://127.0.0.1:9/api/projects/sandbox-project",
    subscription_id="00000000-0000-0000-0000-000000000000",
    resource_group="rg-azmodels-sandbox",
    account="azmodels-sandbox",
    project="sandbox-project",
    location="eastus",
    token="SANDBOX-TOKEN-VALUE",
    reader_token="READER-TOKEN-VALUE",
    blob_endpoint="http://127.0.0.1:10/devstoreaccount1",
    data_dir="/nonexistent",
    pid=1,
)


def _token_of(app: AzModels) -> str | None:
    credential = app.credential
    return credential.get_token("x").token if credential is not None else None


def test_config_to_a_real_endpoint_leaves_the_sandbox_whole():
    app = AzModels()
    app.use_sandbox(INFO)
    assert _token_of(app) == "SANDBOX-TOKEN-VALUE"
    # what `%config AzModels.project_endpoint = ...` does
    app.project_endpoint = "https://contoso.services.ai.azure.com/api/projects/real"
    assert app.sandbox_info is None
    assert _token_of(app) is None  # back to DefaultAzureCredential, made on first use
    assert app.project_parts() == ("contoso", "real")
    assert app.arm_endpoint == "https://management.azure.com"
    assert app.subscription_id == "" and app.resource_group == ""
    assert app.connection_summary()["credential"] == "default"


def test_connect_elsewhere_keeps_what_it_was_given_and_drops_the_rest():
    app = AzModels()
    app.use_sandbox(INFO)
    app.set_connection(subscription_id="sub-real", resource_group="rg-real")
    assert (app.subscription_id, app.resource_group) == ("sub-real", "rg-real")
    assert app.account == "" and app.project_endpoint == ""
    assert _token_of(app) is None


def test_a_new_tenant_reaches_the_token_provider():
    app = AzModels()
    app.tenant_id = "tenant-b"
    assert app.connection.tokens.tenant_id == "tenant-b"
    app.set_connection(tenant_id="tenant-c")
    assert app.connection.tokens.tenant_id == "tenant-c"


def test_changing_a_setting_rebuilds_the_clients():
    app = AzModels(subscription_id="s", resource_group="rg", account="a", location="eastus")
    first = app.connection.arm
    app.metrics_api_version = "2023-10-01"
    second = app.connection.arm
    assert second is not first
    assert second.metrics_api_version == "2023-10-01"


def test_settings_given_to_the_constructor_take_effect():
    app = AzModels(cache_seconds=7.5, debug=False, max_retries=2)
    assert app.cache_seconds == 7.5
    assert app.models.cache.seconds == 7.5  # the lists the services share keep them that long
    app.cache_seconds = 0
    assert app.models.cache.seconds == 0
    again = AzModels.connect(cache_seconds=3, subscription_id="s")
    assert again.models.cache.seconds == 3 and again.subscription_id == "s"
    # what `%config AzModels.cache_seconds = 4` before `%load_ext` amounts to
    configured = AzModels(config=Config({"AzModels": {"cache_seconds": 4, "max_retries": 1}}))
    assert configured.models.cache.seconds == 4 and configured.max_retries == 1


def test_the_sandbox_settings_come_and_go_with_it():
    app = AzModels()
    assert app.sandbox_info is None and app.sandbox_status() == {}
    app.use_sandbox(INFO)
    assert app.sandbox_info is INFO
    assert app.connection.sandbox_dir == "/nonexistent"
    assert app.connection_summary()["credential"] == "sandbox token"
    assert app.sandbox_status()["started here"] == "no (attached)"
    assert app.stop_sandbox() is False  # attached, not started here: not ours to stop
    app.set_connection(project_endpoint="https://contoso.services.ai.azure.com/api/projects/p")
    assert app.sandbox_info is None and app.connection.sandbox_dir is None


def test_errors_raised_through_run_name_commands_as_python_runs_them(monkeypatch) -> None:
    for name in ("AZURE_PROJECT_ENDPOINT", "AZURE_SUBSCRIPTION_ID"):
        monkeypatch.delenv(name, raising=False)
    from azmodels_magic.errors import NotConnectedError
    from azmodels_magic.steps import TERMINAL

    az = AzModels()
    with pytest.raises(NotConnectedError) as caught:
        az.run("list")
    assert "`az.run('sandbox start')`" in str(caught.value)
    assert "%azmodels" not in str(caught.value)
    assert "`azmodels sandbox start`" in caught.value.text(TERMINAL.write)  # when asked
    with pytest.raises(NotConnectedError) as caught:  # a method called directly: Python's too
        az.list_models()
    assert "`az.run('sandbox start')`" in str(caught.value)


def test_quota_is_one_service_the_deployments_share_until_a_setting_changes(monkeypatch):
    monkeypatch.setenv("AZMODELS_ACCOUNT_TIMEOUT", "7.5")
    app = AzModels()
    app.use_sandbox(INFO)
    app.region_accounts = {"West US 2": "team-b"}
    quota = app.quota
    assert app.deployments.quota is quota  # built once, handed to the deployment service
    assert quota.region_accounts == {"westus2": "team-b"}
    assert quota.account_timeout == 7.5  # AZMODELS_ACCOUNT_TIMEOUT
    app.region_accounts = {}
    assert app.quota is not quota and app.deployments.quota is app.quota
    assert app.quota.region_accounts == {}


# -- the tests use the API as users do ----------------------------------------------------------


def private_attributes_of_azmodels() -> set[str]:
    """`_name`s an AzModels has: its classes' own (methods, observers) and an instance's state
    (traitlets' included); not dunders."""
    names = set(vars(AzModels())) | {n for c in AzModels.__mro__ for n in vars(c)}
    return {n for n in names if n.startswith("_") and not n.endswith("__")}


def private_uses(source: str, names: set[str]) -> list[tuple[int, str]]:
    """(line, attribute) of each `x._name` (read, set or called) in `source` naming one of
    `names`, and each `getattr(x, "_name")`-style look-up of one."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in names:
            found.append((node.lineno, node.attr))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in names
        ):
            found.append((node.lineno, node.args[1].value))
    return found


def test_no_test_reaches_a_private_attribute_of_azmodels():
    names = private_attributes_of_azmodels()
    assert {"_composition", "_sandbox_manager", "_reset", "_trait_values"} <= names  # it sees
    tests = Path(__file__).parent
    reached = [
        f"{path.relative_to(tests)}:{line}: .{name}"
        for path in sorted(tests.rglob("*.py"))
        for line, name in private_uses(path.read_text(encoding="utf-8"), names)
    ]
    assert reached == [], "use the public API (or a fixture) instead:\n" + "\n".join(reached)


def test_the_check_finds_private_uses_however_written():
    names = {"_composition", "_reset"}
    source = (
        "az._composition.cache\napp._reset()\nx = getattr(az, '_reset')\naz.models\naz._other\n"
    )
    assert sorted(private_uses(source, names)) == [
        (1, "_composition"),
        (2, "_reset"),
        (3, "_reset"),
    ]


def test_the_app_protocol_names_all_a_command_uses_and_azmodels_has_it():
    """Handlers annotate the facade with `commands.app.App` (no import of `api`): it must name
    every attribute they use of it, and `AzModels` must have each."""
    from azmodels_magic.commands import app as app_module

    protocol = app_module.App
    declared = {
        name
        for cls in protocol.__mro__
        if cls.__module__.startswith("azmodels_magic")
        for name in (*vars(cls), *getattr(cls, "__annotations__", {}))
        if not name.startswith("_")
    }
    commands = Path(app_module.__file__).parent
    used = {
        node.attr
        for path in commands.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "app"
    }
    assert used and used <= declared, sorted(used - declared)
    assert [name for name in sorted(declared) if not hasattr(AzModels(), name)] == []


def test_help_through_run_is_printed_in_pythons_words_and_raises_nothing(capsys) -> None:
    """The advice Python errors give (`See az.run('deploy --help')`) works as printed: the help
    is shown, None returned, and it names commands as Python runs them."""
    az = AzModels()
    assert az.run("deploy --help") is None
    shown = capsys.readouterr().out
    assert shown.startswith("usage: az.run('deploy [-h]"), shown
    assert "[MODEL]')" in shown
    usage = shown.split("\n\n")[0].splitlines()  # wrapped lines line up under the first option
    column = usage[0].index("[-h]")
    assert all(line[:column].isspace() and line[column] != " " for line in usage[1:]), usage
    assert az.run("help") is None
    shown = capsys.readouterr().out
    assert "Run `az.run('<command> --help')` for the options of a command." in shown, shown
    assert "azmodels" not in shown.replace("Manage Azure", "")
