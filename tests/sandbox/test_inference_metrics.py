"""Inference calls are recorded, and Azure Monitor metrics aggregate exactly those calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandbox_support import PROVISION_SECONDS, Api, Clock

GPT4O = {"format": "OpenAI", "name": "gpt-4o"}


def _chat(api: Api, deployment: str, body: dict, **headers: str):
    url = f"{api.arm}/openai/deployments/{deployment}/chat/completions"
    return api.call("POST", url, token=None, version="2024-10-21", json=body, headers=headers)


def _metrics(api: Api, deployment: str, start: datetime, end: datetime) -> dict:
    span = f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}"
    params = {
        "metricnames": "ModelRequests,TimeToResponse,ClientErrors,ServerErrors",
        "timespan": span,
        "interval": "PT1H",
        "aggregation": "Total,Average",
        "$filter": f"ModelDeploymentName eq '{deployment}'",
    }
    url = f"{api.account}/providers/Microsoft.Insights/metrics"
    response = api.call("GET", url, version="2024-02-01", params=params, token="reader")
    assert response.status_code == 200, response.text
    return response.json()


def test_chat_echoes_and_metrics_count_exactly(api: Api, unique) -> None:
    deployment = unique("chat")
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    end = start + timedelta(hours=4)
    clock = Clock()
    assert api.deploy(deployment, GPT4O, "GlobalStandard", 1).status_code == 201
    key = api.call("POST", f"{api.account}/listKeys").json()["key1"]
    not_ready = _chat(
        api, deployment, {"messages": [{"role": "user", "content": "hi"}]}, **{"api-key": key}
    )
    if clock.before(PROVISION_SECONDS):
        assert not_ready.status_code == 404
        assert not_ready.json()["error"]["code"] == "DeploymentNotFound"
    api.wait_deployment(deployment)

    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello sandbox"},
    ]
    ok = _chat(api, deployment, {"messages": messages}, **{"api-key": key})
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "hello sandbox"}
    assert body["usage"]["total_tokens"] == (
        body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    )
    bearer = api.call(
        "POST",
        f"{api.arm}/openai/deployments/{deployment}/chat/completions",
        version="2024-10-21",
        json={"messages": [{"role": "user", "content": [{"type": "text", "text": "parts"}]}]},
    )
    assert bearer.json()["choices"][0]["message"]["content"] == "parts"
    empty = _chat(api, deployment, {"messages": []}, **{"api-key": key})
    assert empty.status_code == 400
    no_key = _chat(api, deployment, {"messages": messages})
    assert no_key.status_code == 401
    wrong_key = _chat(api, deployment, {"messages": messages}, **{"api-key": "nope"})
    assert wrong_key.status_code == 401

    metrics = _metrics(api, deployment, start, end)
    assert metrics["namespace"] == "Microsoft.CognitiveServices/accounts"
    assert metrics["interval"] == "PT1H"
    by_name = {m["name"]["value"]: m for m in metrics["value"]}
    assert set(by_name) == {"ModelRequests", "TimeToResponse", "ClientErrors", "ServerErrors"}
    assert by_name["ModelRequests"]["unit"] == "Count"
    assert by_name["TimeToResponse"]["unit"] == "MilliSeconds"

    def points(metric: str) -> list[dict]:
        series = by_name[metric]["timeseries"]
        assert len(series) == 1
        meta = series[0]["metadatavalues"][0]
        assert meta["name"]["value"] == "modeldeploymentname" and meta["value"] == deployment
        return series[0]["data"]

    requests_data = points("ModelRequests")
    assert len(requests_data) == 4  # one point per hour of the timespan
    assert requests_data[0]["timeStamp"] == f"{start:%Y-%m-%dT%H:%M:%SZ}"
    # 6 calls: one before it was ready, 2 successes, the empty body and 2 without a valid key.
    statuses = [not_ready.status_code, ok.status_code, bearer.status_code, empty.status_code]
    statuses += [no_key.status_code, wrong_key.status_code]
    assert sum(p["total"] for p in requests_data) == 6
    client_errors = sum(400 <= s < 500 for s in statuses)
    assert client_errors >= 3
    assert sum(p["total"] for p in points("ClientErrors")) == client_errors
    assert sum(p["total"] for p in points("ServerErrors")) == 0
    latency = [p for p in points("TimeToResponse") if "average" in p]
    assert len(latency) in (1, 2)  # every call fell in the current hour (or straddled it)
    assert all(p["average"] > 0 for p in latency)
    empty_hours = [p for p in requests_data if p["total"] == 0]
    assert len(empty_hours) >= 2

    assert all("average" not in p for p in requests_data)  # no average of counted events
    split = _metrics(api, "*", start, end)
    series = {s["metadatavalues"][0]["value"]: s for s in split["value"][0]["timeseries"]}
    assert sum(p["total"] for p in series[deployment]["data"]) == 6

    other = _metrics(api, unique("never-called"), start, end)
    assert sum(p["total"] for p in other["value"][0]["timeseries"][0]["data"]) == 0
    api.call("DELETE", f"{api.deployments}/{deployment}")


def test_unknown_metric_is_400(api: Api) -> None:
    url = f"{api.account}/providers/Microsoft.Insights/metrics"
    response = api.call("GET", url, version="2024-02-01", params={"metricnames": "Bogus"})
    assert response.status_code == 400
    assert "Bogus" in response.json()["error"]["message"]


def test_openai_v1_route_takes_the_deployment_from_the_body(api: Api, unique) -> None:
    """OpenAI/v1 (EVIDENCE.md section 5): POST {endpoint}/openai/v1/chat/completions, no
    api-version, body `model` = the deployment name; calls count in the deployment's metrics."""
    deployment = unique("v1")
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    assert api.deploy(deployment, GPT4O, "GlobalStandard", 1).status_code == 201
    api.wait_deployment(deployment)
    key = api.call("POST", f"{api.account}/listKeys").json()["key1"]
    url = f"{api.arm}/openai/v1/chat/completions"
    hello = [{"role": "user", "content": "hello v1"}]

    def post(body: dict, **headers: str):
        return api.call("POST", url, token=None, version="", json=body, headers=headers)

    ok = post({"model": deployment, "messages": hello}, **{"api-key": key})
    assert ok.status_code == 200, ok.text
    assert ok.json()["choices"][0]["message"]["content"] == "hello v1"
    assert ok.json()["model"] == "gpt-4o"
    unknown = post({"model": "no-such-deployment", "messages": hello}, **{"api-key": key})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "DeploymentNotFound")
    no_model = post({"messages": hello}, **{"api-key": key})
    assert no_model.status_code == 400 and "model" in no_model.json()["error"]["message"]
    assert post({"model": "no-such-deployment", "messages": hello}).status_code == 401
    body = _metrics(api, deployment, start, start + timedelta(hours=3))
    requests_metric = next(m for m in body["value"] if m["name"]["value"] == "ModelRequests")
    total = sum(p.get("total") or 0 for t in requests_metric["timeseries"] for p in t["data"])
    assert total == 1  # the one call that named it
