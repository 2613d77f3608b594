"""The inference route (an echoing OpenAI chat completion) and the Azure Monitor metrics route that
aggregates the inference calls recorded in SQLite: nothing is invented.
"""

from __future__ import annotations

import hmac
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .kit import ACCT, check_account, deployment_at
from .routing import ApiError, Request, Response, Router, error_body, json_response
from .store import loads, now

if TYPE_CHECKING:
    from .app import App

METRICS = {
    "ModelRequests": ("Count", "Model Requests", "total"),
    "TimeToResponse": ("MilliSeconds", "Time To Response", "average"),
    "ClientErrors": ("Count", "Client Errors", "total"),
    "ServerErrors": ("Count", "Server Errors", "total"),
}
AGGREGATIONS = ("total", "average", "count", "minimum", "maximum")
_FILTER = re.compile(r"^\s*ModelDeploymentName\s+eq\s+'([^']*)'\s*$", re.IGNORECASE)
_DURATION = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$", re.IGNORECASE
)


def register(router: Router) -> None:
    action = "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action"
    router.add(
        "POST",
        r"/openai/deployments/(?P<name>[^/]+)/chat/completions",
        chat_completions,
        "inference",
        action,
    )
    # OpenAI/v1, what the docs now point every model to (the Model Inference beta retired on
    # 2026-08-26): no api-version, the deployment named by the body's `model`.
    router.add("POST", r"/openai/v1/chat/completions", chat_completions_v1, "inference", action)
    router.add(
        "GET",
        ACCT + r"/providers/Microsoft\.Insights/metrics",
        metrics,
        "metrics",
        "Microsoft.Insights/metrics/read",
    )


# -- inference -----------------------------------------------------------------------------------


def authorize(app: App, req: Request) -> None:
    """An api-key or the owner's token; the pipeline asks before it reads the body."""
    key = req.headers.get("api-key")
    if key is not None:
        if any(hmac.compare_digest(key, k) for k in app.keys):
            return
    else:
        token = app.bearer(req)
        if token is not None:
            principal = app.principal_for(token)
            if principal == "owner":
                return
            if principal == "reader":
                raise ApiError(
                    403,
                    "PermissionDenied",
                    "The principal 'sandbox-reader' lacks the required data action "
                    "'Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/"
                    "action' to perform this operation.",
                )
    raise ApiError(
        401,
        "401",
        "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
        "provide a valid key for an active subscription and use a correct API endpoint.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _completion(app: App, req: Request, name: str | None) -> Response:
    """A chat completion of deployment `name` (None: OpenAI/v1, named by the body's `model`)."""
    authorize(app, req)
    if name is None:
        name = req.json_object().get("model")
        if not isinstance(name, str) or not name:
            raise ApiError(
                400,
                "BadRequest",
                "'model' is a required property: the name of the deployment to call.",
                extra={"param": "model", "type": "invalid_request_error"},
            )
    elif "api-version" not in req.query:
        raise ApiError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    d = deployment_at(app, now(), name)
    if d is None or not d["serving"]:
        raise ApiError(
            404,
            "DeploymentNotFound",
            "The API deployment for this resource does not exist. If you created the deployment "
            "within the last 5 minutes, please wait a moment and try again.",
        )
    body = req.json_object()
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(
            400,
            "BadRequest",
            "'messages' is a required property and must be a non-empty array.",
            extra={"param": "messages", "type": "invalid_request_error"},
        )
    if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
        raise ApiError(
            400,
            "BadRequest",
            "Each message must be an object with a 'role'.",
            extra={"param": "messages", "type": "invalid_request_error"},
        )
    last_user = next((m for m in reversed(messages) if m["role"] == "user"), None)
    answer = _text(last_user.get("content")) if last_user else ""
    prompt_tokens = sum(len(_text(m.get("content")).split()) + 3 for m in messages)
    completion_tokens = len(answer.split())
    created = int(time.time())
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    model = loads(d["model"], {}).get("name", name)
    if body.get("stream"):
        return _stream(completion_id, created, model, answer)
    return json_response(
        200,
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            "system_fingerprint": "fp_azmodels_sandbox",
        },
    )


def _stream(completion_id: str, created: int, model: str, answer: str) -> Response:
    import json

    def chunk(delta: dict[str, Any], finish: str | None) -> str:
        data = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(data)}\n\n"

    words = answer.split(" ")
    parts = [chunk({"role": "assistant", "content": ""}, None)]
    parts += [chunk({"content": (" " if i else "") + w}, None) for i, w in enumerate(words)]
    parts += [chunk({}, "stop"), "data: [DONE]\n\n"]
    return Response(200, "".join(parts).encode(), {}, content_type="text/event-stream")


def chat_completions(app: App, req: Request) -> Response:
    return _answer(app, req, req.params["name"], by_path=True)


def chat_completions_v1(app: App, req: Request) -> Response:
    try:
        named = req.json_object().get("model")
    except ApiError:
        named = None
    return _answer(app, req, named if isinstance(named, str) else "", by_path=False)


def _answer(app: App, req: Request, name: str, *, by_path: bool) -> Response:
    """The completion or its error, recorded for the metrics under the deployment it named."""
    try:
        response = _completion(app, req, name if by_path else None)
    except ApiError as exc:
        status = exc.status
        headers = {**exc.headers, "x-ms-error-code": exc.code}
        response = json_response(status, error_body(exc.code, exc.message, exc.extra), headers)
    latency = (time.perf_counter() - req.received) * 1000
    if name:
        app.store.log_request(name, time.time(), latency, response.status)
    return response


# -- Azure Monitor metrics -----------------------------------------------------------------------


def _duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if not match or not any(match.groupdict().values()):
        raise ApiError(400, "BadRequest", f"'{text}' is not an ISO 8601 duration such as PT1H.")
    parts = {k: int(v or 0) for k, v in match.groupdict().items()}
    return timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"])


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ApiError(400, "BadRequest", f"'{text}' is not an ISO 8601 time.") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_timespan(text: str | None) -> tuple[datetime, datetime]:
    current = datetime.now(UTC)
    if not text:
        return current - timedelta(hours=1), current
    if "/" not in text:
        return current - _duration(text), current
    first, second = text.split("/", 1)
    if first.upper().startswith("P"):
        end = _instant(second)
        return end - _duration(first), end
    start = _instant(first)
    end = start + _duration(second) if second.upper().startswith("P") else _instant(second)
    if end <= start:
        raise ApiError(400, "BadRequest", "The timespan must end after it starts.")
    return start, end


def _fmt(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _values(metric: str, rows: list[tuple], aggregations: list[str]) -> dict[str, Any]:
    if metric == "TimeToResponse":
        samples = [r[2] for r in rows]
    elif metric == "ClientErrors":
        samples = [1.0 for r in rows if 400 <= r[3] < 500]
    elif metric == "ServerErrors":
        samples = [1.0 for r in rows if r[3] >= 500]
    else:
        samples = [1.0 for _ in rows]
    if metric != "TimeToResponse":  # an average of counted events would be made up
        aggregations = [a for a in aggregations if a in ("total", "count")] or ["total"]
    out: dict[str, Any] = {}
    for agg in aggregations:
        if agg == "count":
            out["count"] = float(len(samples))
        elif agg == "total":
            out["total"] = float(sum(samples))
        elif samples and agg == "average":
            out["average"] = sum(samples) / len(samples)
        elif samples and agg == "minimum":
            out["minimum"] = min(samples)
        elif samples and agg == "maximum":
            out["maximum"] = max(samples)
    return out


def metrics(app: App, req: Request) -> Response:
    check_account(req)
    names = [n.strip() for n in (req.query.get("metricnames") or "").split(",") if n.strip()]
    if not names:
        raise ApiError(400, "BadRequest", "metricnames is required, e.g. ModelRequests.")
    canonical = {m.lower(): m for m in METRICS}
    unknown = [n for n in names if n.lower() not in canonical]
    if unknown:
        raise ApiError(
            400,
            "BadRequest",
            f"Failed to find metric configuration for provider: Microsoft.CognitiveServices, "
            f"resource type: accounts, metric: {unknown[0]}. Valid metrics: {', '.join(METRICS)}.",
        )
    start, end = parse_timespan(req.query.get("timespan"))
    interval_text = req.query.get("interval") or "PT1H"
    step = end - start if interval_text.upper() == "FULL" else _duration(interval_text)
    if step.total_seconds() < 60:
        raise ApiError(400, "BadRequest", "The interval must be at least PT1M.")
    # Azure Monitor aligns data points on the interval grid.
    seconds = step.total_seconds()
    buckets: list[datetime] = []
    cursor = start
    if interval_text.upper() != "FULL":
        cursor = datetime.fromtimestamp(start.timestamp() // seconds * seconds, UTC)
    while cursor < end:
        buckets.append(cursor)
        cursor += step
    if len(buckets) > 10_000:
        raise ApiError(400, "BadRequest", "The timespan holds too many intervals.")
    requested = [a.strip().lower() for a in (req.query.get("aggregation") or "").split(",")]
    requested = [a for a in requested if a]
    bad = [a for a in requested if a not in AGGREGATIONS]
    if bad:
        raise ApiError(400, "BadRequest", f"The aggregation '{bad[0]}' is not supported.")
    deployments: list[str | None] = [None]
    split_all = False
    raw_filter = req.query.get("$filter")
    if raw_filter:
        values = []
        for clause in re.split(r"\s+or\s+", raw_filter, flags=re.IGNORECASE):
            match = _FILTER.match(clause)
            if not match:
                raise ApiError(
                    400, "BadRequest", f"The filter '{raw_filter}' is not supported by the sandbox."
                )
            values.append(match.group(1))
        split_all = "*" in values
        deployments = [v for v in values if v != "*"]
    lo = buckets[0].timestamp() if buckets else start.timestamp()
    rows = app.store.requests_between(lo, end.timestamp(), None)
    if split_all:
        deployments = sorted({r[0] for r in rows}, key=str.lower)
    value = []
    for name in names:
        metric = canonical[name.lower()]
        unit, localized, default_agg = METRICS[metric]
        aggregations = requested or [default_agg]
        series = []
        for deployment in deployments:
            selected = rows
            if deployment is not None:
                selected = [r for r in rows if r[0].lower() == deployment.lower()]
            grouped: dict[int, list[tuple]] = {}
            for r in selected:
                grouped.setdefault(int((r[1] - lo) // seconds), []).append(r)
            data = [
                {"timeStamp": _fmt(b), **_values(metric, grouped.get(i, []), aggregations)}
                for i, b in enumerate(buckets)
            ]
            meta = []
            if deployment is not None:
                meta = [
                    {
                        "name": {
                            "value": "modeldeploymentname",
                            "localizedValue": "ModelDeploymentName",
                        },
                        "value": deployment,
                    }
                ]
            series.append({"metadatavalues": meta, "data": data})
        value.append(
            {
                "id": f"{app.account_id}/providers/Microsoft.Insights/metrics/{metric}",
                "type": "Microsoft.Insights/metrics",
                "name": {"value": metric, "localizedValue": localized},
                "displayDescription": f"{localized} of the account's model deployments.",
                "unit": unit,
                "timeseries": series,
                "errorCode": "Success",
            }
        )
    body = {
        "cost": 0,
        "timespan": f"{_fmt(start)}/{_fmt(end)}",
        "interval": interval_text.upper(),
        "value": value,
        "namespace": "Microsoft.CognitiveServices/accounts",
        "resourceregion": app.settings.location,
    }
    return json_response(200, body)
