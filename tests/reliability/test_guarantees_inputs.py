"""Inputs that try to do more than they say.

- `{var}` in `%azmodels` / `%%azmodels` is one argument whatever the value holds: a value like
  "victim --force" can never add a flag (tested through the IPython shell fixture).
"""

from __future__ import annotations

import pytest
from reliability_support import magic_app_on, start_app


def _app(shell):
    return next(c for c in shell.configurables if type(c).__name__ == "AzModels")


@pytest.fixture
def restore_connection(shell):
    app = _app(shell)
    saved = app.subscription_id, app.resource_group, app.account
    yield app
    app.subscription_id, app.resource_group, app.account = saved


HOSTILE_VALUES = [
    "rg --account victim",
    'rg" --account "victim',
    "rg' --account 'victim",
    "rg\t--account\tvictim",
    "rg # --account victim",
]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
@pytest.mark.parametrize("form", ["line", "cell"])
def test_a_variable_is_one_argument_and_adds_no_flag(shell, restore_connection, value, form):
    app = restore_connection
    app.account = "mine"
    shell.user_ns["rg_value"] = value
    command = "connect --subscription sub-x --resource-group {rg_value}"
    cell = f"%azmodels {command}" if form == "line" else f"%%azmodels\n{command}\n"
    result = shell.run_cell(cell)
    assert result.error_in_exec is None, result.error_in_exec
    assert app.resource_group == value  # the whole value, as one argument
    assert app.account == "mine"  # no --account was added


def test_a_variable_never_adds_force_to_a_delete(shell, capsys):
    az = start_app()
    try:
        az.execute("deploy --name gpt-4o-mini --deployment-name victim")
        shell.user_ns["target"] = "victim --force"
        with magic_app_on(shell, az._sandbox_info):
            for cell in (
                "%azmodels deployments delete --name {target}",
                "%%azmodels\ndeployments delete --name {target}\n",
                "%azmodels deployments delete --name $target",
            ):
                result = shell.run_cell(cell)
                assert result.error_in_exec is not None  # 'victim --force' is not a deployment
                out = capsys.readouterr()
                assert "No deployment named 'victim --force'" in out.out + out.err
        assert az.deployments.get("victim").status == "Running"  # still there
    finally:
        az.close()


def test_plain_variables_still_expand(shell, restore_connection):
    app = restore_connection
    shell.user_ns["sub_id"] = "sub-from-var"
    shell.user_ns["names"] = {"rg": "rg-from-dict"}
    shell.run_cell("%azmodels connect --subscription {sub_id} --resource-group {names['rg']}")
    assert (app.subscription_id, app.resource_group) == ("sub-from-var", "rg-from-dict")
    shell.run_cell("%azmodels connect --subscription $sub_id --resource-group rg-{sub_id}-x")
    assert app.resource_group == "rg-sub-from-var-x"
