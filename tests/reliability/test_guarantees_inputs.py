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
        with magic_app_on(shell, az.sandbox_info):
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


# -- item 14: the Python API checks values like the grammar, before any network call ----------


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An AzModels whose endpoints go nowhere (a closed loopback port), and a record of every
    socket connect this process makes: a value the grammar would refuse must open none."""
    import socket

    from azmodels_magic import AzModels
    from azmodels_magic.auth import StaticTokenCredential

    seen: list = []
    real_connect = socket.socket.connect

    def recording_connect(self, address):
        seen.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    az = AzModels(
        progress=False, max_retries=0, credential=StaticTokenCredential("t"),
        project_endpoint="http://127.0.0.1:9/api/projects/p", arm_endpoint="http://127.0.0.1:9",
        subscription_id="s", resource_group="rg", account="a",
    )  # fmt: skip
    weights = tmp_path / "w.safetensors"
    from azmodels_magic.sample_weights import write_safetensors

    write_safetensors(weights, {"w": ("F16", (2, 2))})
    yield az, seen, str(weights)
    az.close()


BAD_API_CALLS = {
    "tag key with =": lambda az, w: az.uploads.upload(
        base_model="gpt-4o", source=w, name="m1", tags={"a=b": "x"}
    ),
    "tag key with = (plan)": lambda az, w: az.uploads.plan(
        base_model="gpt-4o", source=w, name="m1", tags={"k=v": ""}
    ),
    "tag value a number": lambda az, w: az.uploads.upload(
        base_model="gpt-4o", source=w, name="m1", tags={"n": 5}
    ),
    "tag value None": lambda az, w: az.uploads.upload(
        base_model="gpt-4o", source=w, name="m1", tags={"n": None}
    ),
    "tag key a number": lambda az, w: az.uploads.upload(
        base_model="gpt-4o", source=w, name="m1", tags={5: "x"}
    ),
    "tags not a dict": lambda az, w: az.uploads.upload(
        base_model="gpt-4o", source=w, name="m1", tags=["a=b"]
    ),
    "reserved tag key": lambda az, w: az.uploads.upload(
        base_model="gpt-4o", source=w, name="m1", tags={"azmodels.sha256": "x"}
    ),
    "update tag key with =": lambda az, w: az.models.update("m1", "1", set_tags={"a=b": "x"}),
    "update tag value int": lambda az, w: az.models.update("m1", "1", set_tags={"a": 1}),
    "remove tag with =": lambda az, w: az.models.update("m1", "1", remove_tags=["a=b"]),
    "capacity as text": lambda az, w: az.deployments.deploy(
        model="gpt-4o", deployment_name="d1", capacity="5"
    ),
    "capacity a float": lambda az, w: az.deployments.deploy(
        model="gpt-4o", deployment_name="d1", capacity=2.5
    ),
    "capacity a bool": lambda az, w: az.deployments.deploy(
        model="gpt-4o", deployment_name="d1", capacity=True
    ),
    "capacity zero": lambda az, w: az.deployments.deploy(
        model="gpt-4o", deployment_name="d1", capacity=0
    ),
    "scale capacity as text": lambda az, w: az.deployments.scale("d1", capacity="5"),
    "deploy type evil": lambda az, w: az.deployments.deploy(
        model="gpt-4o", deployment_name="d1", type="evil"
    ),
    "deploy sku a number": lambda az, w: az.deployments.deploy(
        model="gpt-4o", deployment_name="d1", sku=5
    ),
    "deploy version a number": lambda az, w: az.deployments.deploy(
        model="gpt-4o", deployment_name="d1", version=3
    ),
    "list type evil": lambda az, w: az.list_models(type="evil"),
    "list query a number": lambda az, w: az.list_models(query=5),
    "list deployments model a number": lambda az, w: az.list_deployments(model=5),
    "list deployments type evil": lambda az, w: az.list_deployments(type="evil"),
    "show type evil": lambda az, w: az.show("gpt-4o", type="evil"),
    "deployment name a number": lambda az, w: az.deployments.deploy(
        model="gpt-4o", deployment_name=12
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_API_CALLS))
def test_the_python_api_refuses_what_the_grammar_refuses_before_any_network_call(offline, case):
    from azmodels_magic.errors import ValidationError

    az, seen, weights = offline
    with pytest.raises(ValidationError) as refused:
        BAD_API_CALLS[case](az, weights)
    text = str(refused.value)
    assert "\n" not in text and "Traceback" not in text
    assert seen == [], f"{case}: a request was attempted before the value was checked"


def test_the_offline_fixture_does_see_a_good_call_try_the_network(offline):
    """The test above could pass by never calling anything: a valid call here does connect."""
    from azmodels_magic.errors import ServiceError

    az, seen, _ = offline
    with pytest.raises(ServiceError, match="could not reach"):
        az.deployments.deploy(model="gpt-4o", deployment_name="d1", capacity=5)
    assert seen


def test_the_grammar_and_the_api_agree_on_tags(offline):
    """One rule set: what `--tags` refuses, the API refuses with the same words."""
    from azmodels_magic import grammar
    from azmodels_magic.errors import UsageError, ValidationError

    for key in ("bad key", "azmodels.x", "k" * 129):
        with pytest.raises(UsageError) as by_grammar:
            grammar.parse(["upload", "--source", "x", "--name", "m1", "--tags", f"{key}=v"])
        with pytest.raises(ValidationError) as by_api:
            grammar.check_tags({key: "v"})
        assert str(by_api.value).rstrip(".").lower() in str(by_grammar.value).lower()
