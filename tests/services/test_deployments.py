"""Deployments end to end against the sandbox (issue 4): deploy base and custom models, list, show
with metrics, scale, delete, and every refusal that must leave the deployments as they were.

Everything goes over real HTTP to a sandbox child process; the checks read the deployments back
with ARM GETs (or straight from the sandbox's own routes), never from what the command claimed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from services_support import register_directly

from azmodels_magic.errors import (
    ConflictError,
    NotFoundError,
    QuotaExceededError,
    UsageError,
    ValidationError,
)
from azmodels_magic.presentation.cards import card_for
from azmodels_magic.sample_weights import write_safetensors

CUSTOM = "tiny-chat"  # uploaded once per module with the upload command
BOTH = "Phi-4"  # a catalog model that also gets registered as a custom model (raw Foundry calls)
KEY_ENV = "AZURE_AI_API_KEY"


# -- helpers (conftest_deployments) ----------------------------------------------------------------


def account_id(app) -> str:
    return app.connection.arm.account_id


def project_arm_id(app) -> str:
    """The project's ARM id, spelled out from the settings (not from the code under test)."""
    return (
        f"/subscriptions/{app.subscription_id}/resourceGroups/{app.resource_group}"
        f"/providers/Microsoft.CognitiveServices/accounts/{app.account}/projects/{app.project}"
    )


def raw_deployment(app, name: str) -> dict[str, Any]:
    """The deployment as ARM returns it (raises NotFoundError on 404)."""
    return app.connection.arm.plane.get_json(f"{account_id(app)}/deployments/{name}")


def fingerprint(app) -> dict[str, tuple]:
    """Each deployment's name, model, SKU, capacity and last change (which only a write moves)."""
    return {
        name: (
            d["properties"]["model"].get("name"),
            d["sku"]["name"],
            d["sku"]["capacity"],
            d["systemData"]["lastModifiedAt"],
        )
        for name, d in raw_deployments(app).items()
    }


def raw_deployments(app) -> dict[str, dict[str, Any]]:
    """Every deployment ARM lists (all pages), by name; a duplicate name fails the test."""
    found: dict[str, dict[str, Any]] = {}
    for item in app.connection.arm.plane.iter_items(f"{account_id(app)}/deployments"):
        assert item["name"] not in found, f"ARM listed {item['name']} twice"
        found[item["name"]] = item
    return found


def gone(app, name: str) -> bool:
    try:
        raw_deployment(app, name)
    except NotFoundError:
        return True
    return False


def account_key(app) -> str:
    body = app.connection.arm.plane.request("POST", f"{account_id(app)}/listKeys").json()
    return body["key1"]


def chat(
    endpoint: str, key: str, messages: list[dict[str, Any]], deployment: str
) -> requests.Response:
    """A call of the card's endpoint (OpenAI/v1: the body's model names the deployment)."""
    body = {"model": deployment, "messages": messages}
    return requests.post(endpoint, headers={"api-key": key}, json=body, timeout=30)


def wait_until(predicate, timeout: float = 15.0, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(step)


def one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text, text
    assert "Traceback" not in text
    return text


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def custom(app, tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("weights")
    path = write_safetensors(
        folder / "tiny.safetensors", {"w": ("F16", (8, 8)), "b": ("F32", (8,))}
    )
    outcome = app.execute(f"upload --base-model gpt-4o --source {path} --name {CUSTOM}")
    assert f"Model registered: {CUSTOM} version 1" in outcome.message
    return CUSTOM


@pytest.fixture(scope="module")
def key(app) -> str:
    return account_key(app)


@pytest.fixture(scope="module")
def base_chat(app) -> str:
    """A base deployment of gpt-4o with every default (the catalog's version and SKU)."""
    outcome = app.execute("deploy --name gpt-4o --deployment-name base-chat")
    assert outcome.value.status == "Running"
    return "base-chat"


@pytest.fixture(scope="module")
def custom_chat(app, custom) -> str:
    outcome = app.execute(f"deploy --name {custom} --deployment-name custom-chat")
    assert outcome.value.status == "Running"
    return "custom-chat"


# -- deploy --------------------------------------------------------------------------------------


def test_base_deploy_takes_the_default_version_and_sku_from_the_catalog(app, base_chat):
    versions = app.models.base_versions("gpt-4o")
    default = next(m for m in versions if m.is_default_version)
    assert len(versions) > 1 and default.version == "2024-11-20"
    sku = default.sku("GlobalStandard")

    body = raw_deployment(app, base_chat)
    model = body["properties"]["model"]
    assert (model["format"], model["name"], model["version"]) == ("OpenAI", "gpt-4o", "2024-11-20")
    assert "source" not in body["properties"]["model"]
    assert body["sku"] == {"name": "GlobalStandard", "capacity": sku.capacity.default}
    assert body["properties"]["provisioningState"] == "Succeeded"

    details = app.deployments.show(base_chat)
    assert (details.deployment.type, details.status) == ("base", "Running")
    assert details.region == app.location == "eastus"
    assert details.endpoint.startswith(app.sandbox_info.arm_endpoint)
    # OpenAI/v1 for every model (EVIDENCE.md section 5); the body's model names the deployment.
    assert details.endpoint == f"{app.sandbox_info.arm_endpoint}/openai/v1/chat/completions"
    assert f'"model": "{base_chat}"' in details.snippets()["python"]


def test_deploy_result_says_what_was_deployed(app):
    outcome = app.execute(
        "deploy --name gpt-4o --type base --version 2024-08-06 --sku Standard --capacity 5 "
        "--deployment-name older-4o"
    )
    warning, result = outcome.message.splitlines()  # a retired version: warned first
    assert warning.startswith("Warning: gpt-4o 2024-08-06 retired on ")
    assert result == (
        "Deployment 'older-4o' of base model gpt-4o 2024-08-06: Running (Standard x 5)."
    )
    body = raw_deployment(app, "older-4o")
    assert body["properties"]["model"]["version"] == "2024-08-06"
    assert body["sku"] == {"name": "Standard", "capacity": 5}
    card = card_for(outcome.value).text()
    for text in ("older-4o (deployment)", "gpt-4o 2024-08-06", "Standard", "eastus", "curl"):
        assert text in card


def test_a_retired_model_is_warned_and_still_deployed(app, capsys):
    """Past its retirement date: said once, as the outcome's first line, naming a live model of
    its family to use instead, in the front end's syntax; the deploy goes ahead (Azure may still
    accept it). A live model gets no warning."""
    from azmodels_magic.steps import TERMINAL

    capsys.readouterr()
    outcome = app.execute("deploy gpt-4o --deployment-name retired-4o", front_end=TERMINAL)
    printed = capsys.readouterr().out
    first = outcome.message.splitlines()[0]
    assert first.startswith("Warning: gpt-4o 2024-11-20 retired on "), first
    assert first.endswith(
        "a live model instead: gpt-4.1 2025-04-14, "
        "`azmodels deploy gpt-4.1 --deployment-name gpt-4.1`."
    ), first
    assert "Warning" not in printed  # once: not printed again before the outcome
    assert outcome.value.status == "Running"
    live = app.execute("deploy gpt-4.1 --deployment-name live-41 --no-wait")
    assert "Warning" not in live.message
    for name in ("retired-4o", "live-41"):
        app.deployments.delete(name, wait=False)


def test_custom_deploy_auto_detected_sends_the_project_as_source(app, custom, custom_chat):
    body = raw_deployment(app, custom_chat)
    model = body["properties"]["model"]
    assert model["source"] == project_arm_id(app)
    assert (model["name"], model["version"]) == (custom, "1")
    # azd PR 7283's custom deploy (EVIDENCE.md section 4): FireworksCustom, PTU x 80.
    assert model["format"] == "FireworksCustom"
    assert body["sku"] == {"name": "GlobalProvisionedManaged", "capacity": 80}
    d = app.deployments.get(custom_chat)
    assert (d.type, d.status, d.model_source) == ("custom", "Running", project_arm_id(app))


def test_type_picks_the_kind_when_a_name_is_in_both(app, tmp_path):
    weights = write_safetensors(tmp_path / f"{BOTH}.safetensors", {"w": ("F16", (4, 4))})
    register_directly(app, BOTH, "1", {"model.safetensors": weights.read_bytes()})
    app.models.invalidate()
    before = fingerprint(app)
    with pytest.raises(UsageError) as refused:
        app.execute(f"deploy --name {BOTH} --deployment-name phi-either")
    assert "--type custom or --type base" in one_line(refused.value)
    assert fingerprint(app) == before

    app.execute(f"deploy --name {BOTH} --type custom --deployment-name phi-custom")
    app.execute(f"deploy --name {BOTH} --type base --deployment-name phi-base")
    custom_model = raw_deployment(app, "phi-custom")["properties"]["model"]
    base_model = raw_deployment(app, "phi-base")["properties"]["model"]
    assert custom_model["source"] == project_arm_id(app)
    assert (custom_model["name"], custom_model["version"]) == (BOTH, "1")
    assert (base_model["format"], base_model["name"], base_model["version"]) == (
        "Microsoft",
        BOTH,
        "7",
    )
    assert "source" not in base_model


def test_type_custom_for_a_base_only_name_is_not_found(app):
    with pytest.raises(NotFoundError) as missing:
        app.execute("deploy --name gpt-4o-mini --type custom --deployment-name nope-mini")
    assert "in your custom models" in one_line(missing.value)
    assert gone(app, "nope-mini")


def test_snippet_reads_the_key_from_the_environment_and_works(app, base_chat, key, monkeypatch):
    details = app.deployments.show(base_chat)
    snippets = details.snippets()
    everything = [
        snippets["python"],
        snippets["curl"],
        card_for(details).text(),
        card_for(details).html(),
        json.dumps(details.to_dict(), default=str),
    ]
    for text in everything:
        assert key not in text
        assert app.sandbox_info.token not in text
    assert f'os.environ["{KEY_ENV}"]' in snippets["python"]
    assert f"${KEY_ENV}" in snippets["curl"]

    # The Python snippet runs as printed once the variable is set, and reaches the deployment.
    monkeypatch.setenv(KEY_ENV, key)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(snippets["python"], {})  # the snippet users are told to run
    answer = eval(printed.getvalue())  # it printed a dict literal
    assert answer["choices"][0]["message"]["content"] == "Hello!"


# -- --no-wait -----------------------------------------------------------------------------------


def test_no_wait_returns_creating_and_show_later_reaches_running(app):
    outcome = app.execute("deploy --name gpt-4o-mini --deployment-name quick-mini --no-wait")
    assert outcome.value.status == "Creating"
    assert outcome.value.deployment.provisioning_state in ("Accepted", "Creating")
    assert "deployments show --name quick-mini" in outcome.message

    def running():
        shown = app.execute("deployments show --name quick-mini").value
        return shown if shown.status == "Running" else None

    shown = wait_until(running)
    assert shown.deployment.provisioning_state == "Succeeded"
    assert raw_deployment(app, "quick-mini")["properties"]["deploymentState"] == "Running"
    # A list asked for afterwards sees the new state too (no stale cache).
    frame = app.execute("deployments list --status running").value
    assert "quick-mini" in list(frame["deployment"])
    frame = app.execute("deployments list --status creating").value
    assert "quick-mini" not in list(frame["deployment"])


# -- show and metrics ----------------------------------------------------------------------------


def _monitor_average_latency(app, name: str) -> float:
    """The average TimeToResponse Azure Monitor (the sandbox's route) reports for `name`."""
    body = app.connection.arm.plane.get_json(
        f"{account_id(app)}/providers/Microsoft.Insights/metrics",
        params={
            "api-version": "2024-02-01",
            "metricnames": "TimeToResponse,ModelRequests",
            "timespan": "PT24H",
            "interval": "PT1H",
            "aggregation": "Average,Total",
            "$filter": f"ModelDeploymentName eq '{name}'",
        },
    )
    series = {m["name"]["value"]: m["timeseries"][0]["data"] for m in body["value"]}
    counts = {p["timeStamp"]: p.get("total", 0) for p in series["ModelRequests"]}
    weighted = [(p["average"], counts[p["timeStamp"]]) for p in series["TimeToResponse"]
                if "average" in p]  # fmt: skip
    return sum(a * n for a, n in weighted) / sum(n for _, n in weighted)


def test_show_reports_metrics_of_real_inference_calls(app, key):
    app.execute("deploy --name Llama-3.3-70B-Instruct --deployment-name llama-metrics")
    before = app.deployments.show("llama-metrics").metrics
    assert (before.requests, before.error_rate, before.average_latency_ms) == (0, None, None)

    endpoint = app.deployments.endpoint("llama-metrics")
    for word in ("one", "two", "three"):
        reply = chat(endpoint, key, [{"role": "user", "content": word}], "llama-metrics")
        assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"] == word
    bad = chat(endpoint, key, [], "llama-metrics")
    assert bad.status_code == 400

    details = app.execute("deployments show --name llama-metrics").value
    m = details.metrics
    assert m.requests == 4
    assert m.errors == 1
    assert m.error_rate == pytest.approx(0.25)
    assert m.average_latency_ms is not None and m.average_latency_ms > 0
    assert m.average_latency_ms == pytest.approx(_monitor_average_latency(app, "llama-metrics"))
    card = card_for(details).text()
    assert "Last 24 hours" in card
    assert "Requests         4" in card and "Error rate       25.0%" in card
    assert "ms" in card.split("Average latency", 1)[1].splitlines()[0]
    data = details.to_dict()["metrics_24h"]
    assert data["requests"] == 4 and data["error_rate"] == pytest.approx(0.25)

    outcome = app.execute("deployments show --name llama-metrics --metrics")
    assert outcome.message == "Last 24 hours of 'llama-metrics': 4 requests, error rate 25.0%."
    frame = outcome.value
    assert list(frame.columns) == [
        "requests",
        "average_latency_ms",
        "client_errors",
        "server_errors",
        "error_rate",
    ]
    assert str(frame.index.tz) == "UTC"
    assert len(frame) >= 24
    steps = frame.index.to_series().diff().dropna().unique()
    assert [str(s) for s in steps] == ["0 days 01:00:00"]
    assert frame["requests"].sum() == 4
    assert frame["client_errors"].sum() == 1
    assert frame["server_errors"].sum() == 0
    busy = frame[frame["requests"] > 0]
    assert busy["average_latency_ms"].notna().all()
    assert frame[frame["requests"] == 0]["average_latency_ms"].isna().all()
    axes = frame["requests"].plot()  # it plots with pandas
    assert axes is not None


def test_show_of_a_model_lists_its_deployments(app, base_chat, custom, custom_chat):
    base = app.execute("show gpt-4o").value
    names = [d.name for d in base.deployments]
    assert base_chat in names and custom_chat not in names
    assert "base-chat" in str(base)
    mine = app.execute(f"show {custom}").value
    assert [d.name for d in mine.deployments] == [custom_chat]
    assert custom_chat in str(mine)


# -- scale ---------------------------------------------------------------------------------------


def test_scale_within_range_changes_capacity(app, base_chat, capsys):
    before = raw_deployment(app, base_chat)["sku"]["capacity"]
    target = before + 5
    outcome = app.execute(f"deployments scale --name {base_chat} --capacity {target}")
    assert f"capacity {before} -> {target}" in capsys.readouterr().out
    assert outcome.message == f"Scaled '{base_chat}' (GlobalStandard) from {before} to {target}."
    body = raw_deployment(app, base_chat)
    assert body["sku"] == {"name": "GlobalStandard", "capacity": target}
    assert body["properties"]["provisioningState"] == "Succeeded"
    assert outcome.value.capacity == target


def test_scale_custom_within_range(app, custom_chat):
    report = app.deployments.scale(custom_chat, capacity=160)
    assert (report.previous, report.target, report.deployment.capacity) == (80, 160, 160)
    assert raw_deployment(app, custom_chat)["sku"]["capacity"] == 160

    outcome = app.execute(f"deployments scale --name {custom_chat} --capacity 120 --no-wait")
    assert outcome.message == (
        f"Scaled '{custom_chat}' (GlobalProvisionedManaged) from 160 to 120 (still updating: "
        f"check with `azmodels deployments show --name {custom_chat}`)."
    )
    # ARM's states only (no Updating): the scale in flight reads Accepted, still serving.
    state = raw_deployment(app, custom_chat)["properties"]["provisioningState"]
    assert state in ("Accepted", "Succeeded")

    def settled():
        body = raw_deployment(app, custom_chat)
        return body["properties"]["provisioningState"] == "Succeeded" and body["sku"]["capacity"]

    assert wait_until(settled) == 120


def test_scale_outside_range_is_refused_and_sends_nothing(app, base_chat):
    before = raw_deployment(app, base_chat)
    with pytest.raises(ValidationError) as refused:
        app.execute(f"deployments scale --name {base_chat} --capacity 30001")
    text = one_line(refused.value)
    assert "1-30000" in text and "30001" in text
    after = raw_deployment(app, base_chat)
    assert after == before  # same capacity, same lastModifiedAt: no PATCH went out


def test_scale_of_a_custom_deployment_off_the_service_step_shows_its_refusal(app, custom_chat):
    """No base model in the catalog: nothing advertises a range, so the scale is sent and the
    service's refusal is shown as it gave it, on one line; the deployment is unchanged."""
    wait_until(lambda: raw_deployment(app, custom_chat)["properties"]["provisioningState"]
               == "Succeeded")  # fmt: skip
    before = raw_deployment(app, custom_chat)
    with pytest.raises(ValidationError) as refused:
        app.execute(f"deployments scale --name {custom_chat} --capacity 100")
    text = one_line(refused.value)
    assert "InvalidCapacity" in text and "steps of 40" in text
    assert raw_deployment(app, custom_chat)["sku"] == before["sku"]


def test_scale_to_the_same_capacity_is_a_no_op(app, base_chat, capsys):
    before = raw_deployment(app, base_chat)
    capacity = before["sku"]["capacity"]
    capsys.readouterr()
    outcome = app.execute(f"deployments scale --name {base_chat} --capacity {capacity}")
    assert "Scaling" not in capsys.readouterr().out
    assert outcome.message == (
        f"Deployment '{base_chat}' already has capacity {capacity}: nothing to do."
    )
    assert raw_deployment(app, base_chat) == before


# -- refusals that change nothing ----------------------------------------------------------------


def test_duplicate_name_is_a_conflict_and_leaves_the_existing_one(app, base_chat):
    before = raw_deployment(app, base_chat)
    with pytest.raises(ConflictError) as conflict:
        app.execute(f"deploy --name Phi-4 --type base --deployment-name {base_chat}")
    text = one_line(conflict.value)
    assert f"'{base_chat}' already exists" in text and "gpt-4o" in text
    assert f"change it with `azmodels deployments scale {base_chat} --capacity N`" in text
    with pytest.raises(ConflictError) as conflict:  # a method called directly: Python's words
        app.deployments.deploy(model="Phi-4", type="base", deployment_name=base_chat)
    assert f"`az.run('deployments scale {base_chat} --capacity N')`" in str(conflict.value)
    assert raw_deployment(app, base_chat) == before


@pytest.mark.parametrize(
    "line",
    ["deployments delete --name no-such-deployment --force",
     "deployments scale --name no-such-deployment --capacity 2",
     "deployments show --name no-such-deployment"],
)  # fmt: skip
def test_a_deployment_that_does_not_exist_is_one_clear_line(app, line):
    before = fingerprint(app)
    with pytest.raises(NotFoundError) as missing:
        app.execute(line)
    text = one_line(missing.value)
    assert "No deployment named 'no-such-deployment'" in text
    assert fingerprint(app) == before


def test_a_missing_argument_is_advised_with_the_model_typed(app):
    """The example completes what was typed (the model given, a name made from it), in the
    front end's syntax; never a fixed model that may be retired."""
    from azmodels_magic.steps import NOTEBOOK, TERMINAL

    with pytest.raises(UsageError) as caught:
        app.execute("deploy --name gpt-4.1")
    assert caught.value.text(TERMINAL.write) == (
        "deploy needs --deployment-name: e.g. `azmodels deploy --name gpt-4.1 "
        "--deployment-name gpt-4.1`."
    )
    with pytest.raises(UsageError) as caught:
        app.execute("deploy --deployment-name chat", front_end=TERMINAL)
    assert "`%azmodels deploy --name MODEL --deployment-name chat`" in caught.value.text(
        NOTEBOOK.write
    )


def test_region_other_than_the_accounts_is_a_clear_error(app):
    before = fingerprint(app)
    with pytest.raises(ValidationError) as refused:
        app.execute("deploy --name gpt-4o --deployment-name west-chat --region westus")
    text = one_line(refused.value)
    assert "westus" in text and "is in eastus" in text and app.account in text
    assert fingerprint(app) == before


def test_region_mapped_to_an_account_deploys_there(app):
    # The sandbox has one account: map another region's spelling to it and deploy through it.
    app.region_accounts = {"West US 2": app.account}
    try:
        outcome = app.execute(
            "deploy --name gpt-4o-mini --deployment-name mapped-mini --region westus2 --no-wait"
        )
    finally:
        app.region_accounts = {}
    assert outcome.value.region == "westus2"
    assert outcome.value.status == "Creating"
    assert raw_deployment(app, "mapped-mini")["properties"]["model"]["name"] == "gpt-4o-mini"


def test_custom_sku_default_is_configurable_and_the_service_decides(app, custom):
    assert app.custom_sku == "GlobalProvisionedManaged"
    app.custom_sku = "Standard"  # no evidence for it: sent, and the service's refusal shown
    try:
        before = fingerprint(app)
        with pytest.raises(ValidationError) as refused:
            app.execute(f"deploy --name {custom} --deployment-name custom-std")
        text = one_line(refused.value)
        assert "InvalidResourceProperties" in text and "'Standard' is not supported" in text
        assert fingerprint(app) == before
        assert gone(app, "custom-std")
    finally:
        app.custom_sku = "GlobalProvisionedManaged"


def test_custom_deploy_beyond_the_fireworks_quota_is_refused_before_sending(app, custom):
    """The sandbox's AIServices.GlobalProvisionedManaged.Fireworks holds 400 by default."""
    usage = "AIServices.GlobalProvisionedManaged.Fireworks"
    before = fingerprint(app)
    with pytest.raises(QuotaExceededError) as refused:
        app.execute(f"deploy --name {custom} --deployment-name too-big --capacity 1000")
    text = one_line(refused.value)
    assert f"{custom} 1 GlobalProvisionedManaged x 1000 needs 1000" in text
    assert usage in text and "left of 400" in text and "nothing was sent" in text
    assert fingerprint(app) == before and gone(app, "too-big")


def test_custom_model_with_an_openai_base_leaves_sku_and_capacity_to_the_service(app, tmp_path):
    """gpt-4o's catalog SKUs (PTUs of 15 in steps of 5) are OpenAI's hosting, not the Fireworks
    capacity custom weights deploy on: nothing is invented from them, and the service's own
    refusal is the answer, one line, nothing created."""
    path = write_safetensors(tmp_path / "b.safetensors", {"w": ("F16", (4,))})
    app.execute(f"upload --source {path} --name based-chat --base-model gpt-4o")
    before = fingerprint(app)
    for line, words in (
        ("--capacity 17", ["InvalidCapacity", "steps of 40"]),
        ("--sku Premium", ["InvalidResourceProperties", "'Premium' is not supported"]),
    ):
        with pytest.raises(ValidationError) as refused:
            app.execute(f"deploy --name based-chat --deployment-name based {line}")
        assert all(w in one_line(refused.value) for w in words), str(refused.value)
    assert fingerprint(app) == before and gone(app, "based")


def test_model_format_overrides_what_is_sent(app, custom):
    outcome = app.execute(
        f"deploy --name {custom} --deployment-name custom-fmt --model-format SafetensorsCustom"
    )
    assert outcome.value.status == "Running"
    model = raw_deployment(app, "custom-fmt")["properties"]["model"]
    assert (model["format"], model["source"]) == ("SafetensorsCustom", project_arm_id(app))
    app.execute("deployments delete --name custom-fmt --force")
    before = fingerprint(app)
    for line, words in (
        (f"deploy --name {custom} --deployment-name x-fmt --model-format OpenAI",
         ["custom model", "FireworksCustom"]),
        ("deploy --name gpt-4o --deployment-name x-fmt --model-format FireworksCustom",
         ["base model", "'OpenAI'"]),
    ):  # fmt: skip
        with pytest.raises(ValidationError) as refused:
            app.execute(line)
        assert all(w in one_line(refused.value) for w in words), str(refused.value)
    with pytest.raises(UsageError):
        app.execute(f"deploy --name {custom} --deployment-name x-fmt --model-format 'a/b'")
    assert fingerprint(app) == before and gone(app, "x-fmt")


def test_region_of_the_account_itself_is_accepted(app):
    outcome = app.execute(
        "deploy --name gpt-4o-mini --deployment-name east-mini --region EastUS --no-wait"
    )
    assert outcome.value.status == "Creating"
    assert raw_deployment(app, "east-mini")["properties"]["model"]["name"] == "gpt-4o-mini"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("deploy --name Phi-4 --type base --sku ProvisionedManaged --deployment-name refused",
         ["'ProvisionedManaged' is not offered", "GlobalStandard (1-200)"]),
        ("deploy --name Phi-4 --type base --capacity 201 --deployment-name refused",
         ["capacity 201 is outside 1-200"]),
        ("deploy --name gpt-4o --sku ProvisionedManaged --capacity 60 --deployment-name refused",
         ["capacity 60", "50-10000 in steps of 50"]),
        ("deploy --name gpt-4o --sku GlobalProvisionedManaged --capacity 17 "
         "--deployment-name refused", ["capacity 17 is not on the step", "nearest: 15 or 20"]),
        ("deploy --name tiny-chat --capacity 100 --deployment-name refused",
         ["InvalidCapacity", "steps of 40"]),  # no base model: the service's own refusal
        ("deploy --name tiny-chat --sku GlobalStandard --deployment-name refused",
         ["InvalidResourceProperties", "'GlobalStandard' is not supported"]),
    ],
)  # fmt: skip
def test_sku_and_capacity_are_checked_before_anything_is_sent(app, custom, line, expected):
    before = fingerprint(app)
    with pytest.raises(ValidationError) as refused:
        app.execute(line)
    text = one_line(refused.value)
    for part in expected:
        assert part in text
    assert fingerprint(app) == before
    assert gone(app, "refused")


# -- delete --------------------------------------------------------------------------------------


def test_delete_without_force_is_refused_in_a_non_interactive_run(app, base_chat):
    assert os.environ["AZMODELS_INTERACTIVE"] == "0"
    before = raw_deployment(app, base_chat)
    with pytest.raises(UsageError) as refused:
        app.execute(f"deployments delete --name {base_chat}")
    text = one_line(refused.value)
    assert "--force" in text and base_chat in text
    assert raw_deployment(app, base_chat) == before


def test_delete_with_force_removes_the_deployment_not_the_model(app):
    app.execute("deploy --name gpt-4o-mini --deployment-name doomed")
    outcome = app.execute("deployments delete --name doomed --force")
    assert outcome.message == (
        "Deleted deployment 'doomed'. The model gpt-4o-mini 2024-07-18 is not deleted."
    )
    assert gone(app, "doomed")
    assert "doomed" not in raw_deployments(app)
    assert "doomed" not in list(app.execute("deployments list").value["deployment"])
    assert app.execute("show gpt-4o-mini").value.model.name == "gpt-4o-mini"


def test_delete_of_a_custom_deployment_keeps_the_custom_model(app, custom):
    app.execute(f"deploy --name {custom} --deployment-name doomed-custom")
    outcome = app.execute("deployments delete --name doomed-custom --force")
    assert f"The model {custom} 1 is not deleted." in outcome.message
    assert gone(app, "doomed-custom")
    assert app.models.find(custom, type="custom").ready


# -- the other front ends ------------------------------------------------------------------------


def test_magic_runs_the_same_commands(app, shell, base_chat, monkeypatch, capsys):
    magics = shell.magics_manager.registry["AzModelsMagics"]
    monkeypatch.setattr(magics, "app", app)
    capsys.readouterr()

    result = shell.run_cell("%azmodels deployments list --type base -o deps")
    assert result.error_in_exec is None
    frame = shell.user_ns["deps"]
    assert base_chat in list(frame["deployment"])
    assert set(frame["type"]) == {"base"}
    out = capsys.readouterr().out
    assert out.strip().splitlines()[0].startswith(f"{len(frame)} deployments found (")

    result = shell.run_cell(f"%azmodels deployments delete --name {base_chat}")
    assert result.error_in_exec is not None
    text = (lambda o: o.out + o.err)(capsys.readouterr())
    assert "--force" in text and "Traceback" not in text
    assert len([line for line in text.splitlines() if line.strip()]) == 1
    assert not gone(app, base_chat)

    result = shell.run_cell(f"%azmodels deployments scale --name {base_chat} --capacity 30001")
    assert result.error_in_exec is not None
    text = (lambda o: o.out + o.err)(capsys.readouterr())
    assert "1-30000" in text
    assert len([line for line in text.splitlines() if line.strip()]) == 1

    result = shell.run_cell("%azmodels deployments scale --name ghost --capacity 2")
    assert result.error_in_exec is not None
    text = (lambda o: o.out + o.err)(capsys.readouterr())
    assert "No deployment named 'ghost'" in text
    assert len([line for line in text.splitlines() if line.strip()]) == 1


def _cli(app, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AZMODELS_SANDBOX": app.sandbox_info.arm_endpoint}
    return subprocess.run(
        [sys.executable, "-m", "azmodels_magic.cli", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_cli_lists_and_refuses_like_the_magic(app, base_chat):
    listed = _cli(app, "deployments", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert base_chat in [r["deployment"] for r in rows]
    assert set(rows[0]) == {
        "deployment", "model", "model_version", "type", "status", "sku", "capacity", "created"
    }  # fmt: skip
    assert re.search(r"^\d+ deployments? found \(\d+ base, \d+ custom\)$", listed.stderr, re.M)
    refused = _cli(app, "deployments", "delete", "--name", base_chat)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "--force" in refused.stderr
    assert not gone(app, base_chat)


# -- list: filters and counts (a sandbox of its own, so the counts are exact) --------------------

COLUMNS = ["deployment", "model", "model_version", "type", "status", "sku", "capacity", "created"]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """2 base and 2 custom deployments, listed over pages of 2."""
    from azmodels_support import start_app

    # Creation takes 2 s here, so "creating" is a state a list can reliably catch.
    az = start_app(page_size=2, provision_seconds=2.0)
    path = write_safetensors(
        tmp_path_factory.mktemp("fleet") / "w.safetensors", {"w": ("F16", (4,))}
    )
    az.execute(f"upload --base-model gpt-4o --source {path} --name fleet-model")
    az.execute("deploy --name gpt-4o --deployment-name f-gpt --no-wait")
    az.execute("deploy --name Phi-4 --deployment-name f-phi --capacity 2 --no-wait")
    az.execute("deploy --name fleet-model --deployment-name f-custom-a --no-wait")
    for name in ("f-gpt", "f-phi", "f-custom-a"):
        wait_until(lambda name=name: az.deployments.get(name).status == "Running")
    yield az
    az.close()


def _names(outcome) -> list[str]:
    return sorted(outcome.value["deployment"])


def test_list_filters_and_counts(fleet):
    creating = fleet.execute(
        "deploy --name fleet-model --deployment-name f-custom-b --capacity 120 --no-wait"
    )
    assert creating.value.status == "Creating"
    outcome = fleet.execute("deployments list --status creating")
    assert outcome.message == "1 deployment found (0 base, 1 custom)"
    assert _names(outcome) == ["f-custom-b"]
    with pytest.raises(ConflictError) as busy:  # no scale while it is being created
        fleet.execute("deployments scale --name f-custom-b --capacity 160")
    assert "'f-custom-b' is Creating" in one_line(busy.value)
    wait_until(lambda: fleet.deployments.get("f-custom-b").status == "Running")

    outcome = fleet.execute("deployments list")
    assert outcome.message == "4 deployments found (2 base, 2 custom)"
    frame = outcome.value
    assert list(frame.columns) == COLUMNS
    rows = {r["deployment"]: r for r in frame.to_dict("records")}
    assert set(rows) == {"f-gpt", "f-phi", "f-custom-a", "f-custom-b"}
    assert {k: v for k, v in rows["f-gpt"].items() if k != "created"} == {
        "deployment": "f-gpt", "model": "gpt-4o", "model_version": "2024-11-20", "type": "base",
        "status": "Running", "sku": "GlobalStandard", "capacity": 10,
    }  # fmt: skip
    assert {k: v for k, v in rows["f-custom-b"].items() if k != "created"} == {
        "deployment": "f-custom-b", "model": "fleet-model", "model_version": "1",
        "type": "custom", "status": "Running", "sku": "GlobalProvisionedManaged", "capacity": 120,
    }  # fmt: skip
    assert rows["f-phi"]["capacity"] == 2 and rows["f-phi"]["model_version"] == "7"
    raw = raw_deployments(fleet)
    for name, row in rows.items():
        created = raw[name]["systemData"]["createdAt"]
        assert row["created"] == __import__("pandas").Timestamp(created)

    cases = {
        "--type base": ("2 deployments found (2 base, 0 custom)", ["f-gpt", "f-phi"]),
        "--type custom": ("2 deployments found (0 base, 2 custom)", ["f-custom-a", "f-custom-b"]),
        "--type all": ("4 deployments found (2 base, 2 custom)", sorted(rows)),
        "--model gpt-4o": ("1 deployment found (1 base, 0 custom)", ["f-gpt"]),
        "--model fleet-model": ("2 deployments found (0 base, 2 custom)",
                                ["f-custom-a", "f-custom-b"]),
        "--model fleet-model --type base": ("0 deployments found (0 base, 0 custom)", []),
        "--status running": ("4 deployments found (2 base, 2 custom)", sorted(rows)),
        "--status running --type custom --model fleet-model": (
            "2 deployments found (0 base, 2 custom)", ["f-custom-a", "f-custom-b"]),
        "--status failed": ("0 deployments found (0 base, 0 custom)", []),
        "--status stopped": ("0 deployments found (0 base, 0 custom)", []),
        "--status creating": ("0 deployments found (0 base, 0 custom)", []),
        "--model no-such-model": ("0 deployments found (0 base, 0 custom)", []),
    }  # fmt: skip
    for flags, (message, names) in cases.items():
        outcome = fleet.execute(f"deployments list {flags}")
        assert (outcome.message, _names(outcome)) == (message, names), flags
        assert list(outcome.value.columns) == COLUMNS, flags

    empty = fleet.execute("deployments list --status failed").value
    assert list(empty.columns) == COLUMNS and len(empty) == 0

    as_json = fleet.execute("deployments list --type custom --format json")
    records = as_json.json_data()
    assert [r["deployment"] for r in records] == ["f-custom-a", "f-custom-b"]
    assert set(records[0]) == set(COLUMNS)
    json.dumps(records)  # JSON-able as it is


def test_list_shows_a_deletion_under_way_and_counts_after_it(fleet):
    fleet.connection.arm.delete_deployment("f-phi")  # someone else starts deleting it
    frame = fleet.execute("deployments list --type base").value
    assert dict(zip(frame["deployment"], frame["status"], strict=True))["f-phi"] == "Deleting"
    # Deleting it again waits for the deletion under way, and says so the same way.
    outcome = fleet.execute("deployments delete --name f-phi --force")
    assert outcome.message == ("Deleted deployment 'f-phi'. The model Phi-4 7 is not deleted.")
    outcome = fleet.execute("deployments list")
    assert outcome.message == "3 deployments found (1 base, 2 custom)"
    assert _names(outcome) == ["f-custom-a", "f-custom-b", "f-gpt"]
    assert set(raw_deployments(fleet)) == {"f-custom-a", "f-custom-b", "f-gpt"}


def test_api_key_opens_the_endpoint_and_stays_out_of_reprs(app, base_chat):
    key = app.deployments.api_key()
    url = app.deployments.show(base_chat).endpoint
    answer = chat(url, key, [{"role": "user", "content": "hi"}], base_chat)
    assert answer.status_code == 200
    assert answer.json()["choices"][0]["message"]["content"] == "hi"
    shown = card_for(app.run(f"deployments show --name {base_chat}"))
    for text in (repr(app), repr(app.deployments), repr(app.connection.arm), shown.text(),
                 shown.html()):  # fmt: skip
        assert key not in text


# -- what a deploy costs, counted where the requests arrive ----------------------------------------

_LOGGED = re.compile(r"INFO azmodels_magic\.sandbox\.server: (GET|PUT|POST|PATCH|DELETE) (\S+) ")


def _settled_size(log: Path) -> int:
    """The log's size once it stops growing (a line is written just after its response)."""
    size = -1
    while (now := log.stat().st_size) != size:
        size = now
        time.sleep(0.3)
    return size


def requests_during(app, action) -> list[tuple[str, str]]:
    """(method, path) of every request the sandbox answered while `action` ran."""
    log = Path(app.sandbox_info.data_dir) / "sandbox.log"
    start = _settled_size(log)
    action()
    end = _settled_size(log)
    with open(log, "rb") as handle:
        handle.seek(start)
        text = handle.read(end - start).decode(errors="replace")
    return [m.groups() for m in map(_LOGGED.search, text.splitlines()) if m]


def _kinds(requests_seen: list[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    kinds: dict[str, list[tuple[str, str]]] = {"poll": [], "quota check": [], "other": []}
    for method, path in requests_seen:
        path = path.split("?", 1)[0]
        if "/operationStatuses/" in path or "/operationResults/" in path:
            kinds["poll"].append((method, path))
        elif path.endswith(
            ("/usages", "/modelCapacities", "/Microsoft.CognitiveServices/accounts")
        ):
            kinds["quota check"].append((method, path))  # the quota left where the account is
        else:
            kinds["other"].append((method, path))
    return kinds


def test_a_deploy_with_progress_off_costs_three_requests_and_its_polls(app, custom):
    """Is the name free (GET, 404), create (PUT), the polls, the deployment read back (GET); a
    base model's quota and capacity are read before the PUT (know before you deploy), a custom
    model's quota (the Fireworks PTU usage) too."""
    app.execute("list")  # a session lists before it deploys: base and custom models cached
    app.execute(f"deploy --name {custom} --deployment-name count-warm")  # the account's endpoint
    # A custom model named with its version is answered by the list (without, its versions
    # are looked up to pick the latest: one more request).
    for line in (
        f"deploy --name {custom} --version 1 --deployment-name count-custom",
        "deploy --name gpt-4o-mini --deployment-name count-base",
    ):
        name = line.rsplit(" ", 1)[-1]
        seen = requests_during(app, lambda line=line: app.execute(line))
        kinds = _kinds(seen)
        assert kinds["poll"], seen
        deployment = f"/deployments/{name}"
        assert [(m, p.endswith(deployment)) for m, p in kinds["other"]] == [
            ("GET", True),
            ("PUT", True),
            ("GET", True),
        ], seen
        checked = {p.split("?")[0].rsplit("/", 1)[-1] for _, p in kinds["quota check"]}
        if name == "count-custom":
            assert "usages" in checked and checked <= {"usages", "accounts"}, seen
            assert len(seen) == 3 + len(kinds["poll"]) + len(kinds["quota check"])
        else:
            assert (
                {"usages", "modelCapacities"}
                <= checked
                <= {"usages", "modelCapacities", "accounts"}
            )
    for name in ("count-warm", "count-custom", "count-base"):
        app.execute(f"deployments delete --name {name} --force")


def test_a_deploy_with_progress_on_adds_only_the_reads_it_shows(app, custom):
    app.execute("list")
    app.progress = True
    try:
        with contextlib.redirect_stderr(io.StringIO()) as bar:
            seen = requests_during(
                app,
                lambda: app.execute(
                    f"deploy --name {custom} --version 1 --deployment-name count-shown"
                ),
            )
    finally:
        app.progress = False
    kinds = _kinds(seen)
    reads = [p for m, p in kinds["other"] if m == "GET" and p.endswith("/deployments/count-shown")]
    # The name check, the read-back and at most one read per poll, each shown as a state.
    assert 2 <= len(reads) <= 2 + len(kinds["poll"]), seen
    assert len(seen) <= 3 + 2 * len(kinds["poll"]) + len(kinds["quota check"])
    assert "Succeeded" in bar.getvalue()
    app.execute("deployments delete --name count-shown --force")
