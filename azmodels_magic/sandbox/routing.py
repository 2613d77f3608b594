"""What the sandbox's routes are written with: the router, requests, responses, Azure-shaped
errors and the names of the one account and project every sandbox has.

server.py runs the pipeline and imports the route modules (arm_routes.py, quota_routes.py,
foundry_routes.py, inference.py, hub_routes.py); they import this module and kit.py, which
import none of them.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
RESOURCE_GROUP = "rg-azmodels-sandbox"
ACCOUNT = "azmodels-sandbox"
PROJECT = "sandbox-project"
USER = "sandbox-user@azmodels.local"


class ApiError(Exception):
    """An Azure-shaped error response."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra = extra or {}


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"


def json_response(status: int, obj: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(obj, separators=(",", ":")).encode(), dict(headers or {}))


# ARM's front door refuses JSON nested deeper than its parsers take; so does the sandbox (the
# spec check and the routes walk bodies recursively).
MAX_JSON_DEPTH = 64
TOO_DEEP = f"The request content is nested more than {MAX_JSON_DEPTH} levels deep."


def json_depth(value: Any) -> int:
    """How deeply `value` nests (iteratively: the point is to refuse what recursion cannot take)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def raw_json_response(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status, text.encode(), dict(headers or {}))


def empty_response(status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(status, b"", dict(headers or {}), content_type="")


def error_body(code: str, message: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **(extra or {})}}


def iso(ts: float) -> str:
    """Epoch seconds as ARM writes times: 2025-01-01T12:00:00.123456Z."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Any  # http.client.HTTPMessage: case-insensitive .get
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    received: float = field(default_factory=time.perf_counter)
    principal: str = ""  # "owner", "reader" or "key"
    # Reads the body off the socket: called by the pipeline only once the request is
    # authenticated, so an anonymous sender's body is never taken in.
    read_body: Callable[[], bytes] | None = field(default=None, repr=False)

    def json(self, *, required: bool = True) -> Any:
        if not self.body.strip():
            if required:
                raise ApiError(400, "InvalidRequestContent", "The request body is missing.")
            return {}
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(
                400, "InvalidRequestContent", f"The request content is not valid JSON: {exc}."
            ) from None
        except RecursionError:
            raise ApiError(400, "InvalidRequestContent", TOO_DEEP) from None

    def json_object(self, *, required: bool = True) -> dict[str, Any]:
        body = self.json(required=required)
        if not isinstance(body, dict):
            raise ApiError(400, "InvalidRequestContent", "The request body must be a JSON object.")
        return body


# The app is an `app.App` (routing sits below it: the app module names `Request`).
Handler = Callable[[Any, Request], Response]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    plane: str  # "arm", "metrics", "resources", "foundry", "inference" or "hub": auth, api-versions
    action: str  # the permission a write needs, named in 403 messages


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler, plane: str, action: str) -> None:
        flags = re.IGNORECASE if plane in ("arm", "metrics") else 0
        self.routes.append(
            Route(method, re.compile(pattern + r"/?\Z", flags), handler, plane, action)
        )

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed = []
        for route in self.routes:
            found = route.pattern.match(path)
            if not found:
                continue
            if route.method == method:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
            allowed.append(route.method)
        if allowed:
            raise ApiError(
                405,
                "MethodNotAllowed",
                f"The HTTP method '{method}' is not supported on this resource.",
                headers={"Allow": ", ".join(sorted(set(allowed)))},
            )
        raise ApiError(404, "NotFound", f"No route matches '{path}'.")
