"""Microsoft's published schemas as a judge of what is sent and served.

spec/ holds subsets of Azure's REST specifications (Swagger 2.0; SOURCES.md says where each
comes from): ARM's Microsoft.CognitiveServices 2025-06-01 and the Foundry project data plane's
model routes at 2025-11-15-preview. A SpecChecker finds the operation a (method, URL path)
names and checks a request or a response against it:

    checker = for_url(url)              # None: a URL or api-version no vendored spec covers
    checker.check_request("PUT", path, query, body)     -> ["Deployments_CreateOrUpdate ..."]
    checker.check_response("GET", path, 200, body)      -> []

Each message names the operation id, where in the body (a JSON path, `$` the body itself) and
what is wrong. Swagger 2.0 schemas are JSON Schema draft 4 with extensions; this module reads
them so: `readOnly` properties are never required of a request; `x-nullable: true` allows null;
a merge-patch request (RFC 7396) may set any member null (its way to remove it);
`x-ms-*`, `discriminator` and `format` are not checked (no vendored operation is polymorphic);
enums are closed, `modelAsString` or not.

Standard library and `jsonschema` only (imported when first needed); it imports nothing else of
the package, as the sandbox wing must not.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

SPEC_DIR = Path(__file__).with_name("spec")
ARM_FILE = "arm-2025-06-01.json"
FOUNDRY_FILE = "foundry-2025-11-15-preview.json"
ARM_VERSIONS = {"2025-06-01": ARM_FILE}
FOUNDRY_VERSIONS = {"2025-11-15-preview": FOUNDRY_FILE}
# Where the project data plane's paths start: Azure's and the sandbox's project endpoints alike.
PROJECT_PREFIX = re.compile(r"^/api/projects/[^/]+(?=/)")
MAX_MESSAGES = 40


@dataclass(frozen=True)
class AcceptedStatus:
    """A status the spec does not declare but the service is documented to send: accepted as
    if declared, without a body, on the strength of `citation`. Never a silent skip."""

    operation_id: str
    status: int
    citation: str


# The documented disagreements the sandbox and this checker accept.
ACCEPTED_STATUSES = (
    AcceptedStatus(
        "Models_DeleteVersion",
        200,
        "azure-ai-projects 2.10.0, azure/ai/projects/operations/_operations.py, "
        "BetaModelsOperations.delete: 'Returns 200 whether the version existed or not.' and "
        "`if response.status_code not in [200]` raises; the derived TypeSpec "
        "(servicepatterns.tsp 0974d3be, deleteVersion) declares 204 only",
    ),
)
_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    template: str
    regex: re.Pattern[str]
    spec: dict[str, Any]
    parameters: tuple[dict[str, Any], ...]


class SpecChecker:
    """One vendored spec: finds operations by (method, path), checks bodies against them."""

    def __init__(self, doc: dict[str, Any], *, name: str, arm: bool) -> None:
        self.name = name
        self.arm = arm
        self.doc = doc
        self._docs = {
            "response": _swagger_to_draft4(doc, request=False),
            "request": _swagger_to_draft4(doc, request=True),
        }
        self._validators: dict[tuple[str, int], Any] = {}
        flags = re.IGNORECASE if arm else 0
        ops: list[Operation] = []
        for template, item in doc.get("paths", {}).items():
            shared = [self._param(p) for p in item.get("parameters", [])]
            for method in _METHODS:
                spec = item.get(method)
                if spec is None:
                    continue
                own = [self._param(p) for p in spec.get("parameters", [])]
                names = {(p["in"], p["name"]) for p in own}
                params = own + [p for p in shared if (p["in"], p["name"]) not in names]
                ops.append(
                    Operation(
                        operation_id=spec.get("operationId", f"{method.upper()} {template}"),
                        method=method.upper(),
                        template=template,
                        regex=re.compile(_template_regex(template), flags),
                        spec=spec,
                        parameters=tuple(params),
                    )
                )
        # Templates with more literal text first, so a literal segment beats a parameter.
        ops.sort(key=lambda op: -len(re.sub(r"\{[^}]+\}", "", op.template)))
        self.operations = ops

    # -- finding ------------------------------------------------------------------------------

    def _param(self, param: dict[str, Any]) -> dict[str, Any]:
        ref = param.get("$ref")
        return self._resolve(ref) if ref else param

    def _resolve(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise ValueError(f"{self.name}: only local $refs are vendored, not {ref}")
        node: Any = self.doc
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def spec_path(self, path: str) -> str:
        """`path` (a URL's path, any query dropped) as the spec's paths are written."""
        path = path.split("?", 1)[0]
        if not self.arm:
            path = PROJECT_PREFIX.sub("", path, count=1)
        return path.rstrip("/") or "/"

    def find(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation for `method` `path` and its path parameters (decoded), or None."""
        spec_path = self.spec_path(path)
        for op in self.operations:
            if op.method != method.upper():
                continue
            match = op.regex.fullmatch(spec_path)
            if match:
                return op, {k: unquote(v) for k, v in match.groupdict().items()}
        return None

    def operation_id(self, method: str, path: str) -> str | None:
        found = self.find(method, path)
        return found[0].operation_id if found else None

    # -- checking -----------------------------------------------------------------------------

    def check_request(
        self, method: str, path: str, query: dict[str, Any] | None, body: Any
    ) -> list[str]:
        """What is wrong with this request by the spec: the body against its schema, required
        query parameters (api-version) and the pattern, enum and length of path and query
        parameters. [] when nothing is."""
        found = self.find(method, path)
        if found is None:
            return [f"{self.name}: no operation for {method.upper()} {self.spec_path(path)}"]
        op, path_values = found
        query = _flat_query(query or {})
        problems: list[str] = []
        for param in op.parameters:
            where, name = param["in"], param["name"]
            if where == "path":
                value = path_values.get(name)
                if value is not None:
                    problems += self._check_parameter(op, param, value)
            elif where == "query":
                if name not in query:
                    if param.get("required"):
                        problems.append(
                            f"{op.operation_id}: query parameter '{name}' is required but absent"
                        )
                    continue
                problems += self._check_parameter(op, param, query[name])
            elif where == "body":
                if body is None or body == b"" or body == "":
                    if param.get("required"):
                        problems.append(f"{op.operation_id}: request body is required but absent")
                    continue
                if _merge_patch(op, self.doc):
                    body = _without_nulls(_parsed(body))
                problems += self._check_body(op, "request", param["schema"], body, "request")
        return _capped(problems)

    def check_response(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """What is wrong with this response by the spec: a status the operation does not
        declare (an error status falls to `default`), or a body its schema refuses."""
        found = self.find(method, path)
        if found is None:
            return [f"{self.name}: no operation for {method.upper()} {self.spec_path(path)}"]
        op, _ = found
        responses = op.spec.get("responses", {})
        key = str(status)
        accepted = accepted_status(op.operation_id, status)
        if key not in responses and accepted is not None:
            responses = {**responses, key: {"description": accepted.citation}}
        if key not in responses:
            if status >= 400 and "default" in responses:
                key = "default"
            else:
                declared = ", ".join(sorted(responses))
                return [
                    f"{op.operation_id}: status {status} is not declared by the spec "
                    f"(it declares {declared})"
                ]
        schema = responses[key].get("schema")
        empty = body is None or body == b"" or body == ""
        if schema is None:
            if empty:
                return []
            return [f"{op.operation_id} {status}: $: the spec declares no body for {key}"]
        if empty:
            return [f"{op.operation_id} {status}: $: a body is declared but none was sent"]
        return _capped(self._check_body(op, f"response {status}", schema, body, "response"))

    def _check_body(self, op: Operation, what: str, schema: Any, body: Any, mode: str) -> list[str]:
        from jsonschema.exceptions import best_match

        if isinstance(body, bytes | str):
            try:
                body = json.loads(body)
            except ValueError as exc:
                return [f"{op.operation_id} {what}: $: not JSON ({exc})"]
        validator = self._validator(mode, schema)
        out = []
        for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
            detail = best_match(error.context) if error.context else error
            path = _json_path(list(detail.absolute_path))
            out.append(f"{op.operation_id} {what}: {path}: {detail.message}")
        return out

    def _check_parameter(self, op: Operation, param: dict[str, Any], raw: str) -> list[str]:
        from jsonschema import Draft4Validator

        keys = ("type", "enum", "pattern", "minLength", "maxLength", "minimum", "maximum")
        schema = {k: param[k] for k in keys if k in param}
        value: Any = raw
        kind = schema.get("type")
        try:
            if kind == "integer":
                value = int(raw)
            elif kind == "number":
                value = float(raw)
            elif kind == "boolean" and raw.lower() in ("true", "false"):
                value = raw.lower() == "true"
        except ValueError:
            pass
        where = f"{param['in']} parameter '{param['name']}'"
        return [
            f"{op.operation_id}: {where}: {error.message}"
            for error in Draft4Validator(schema).iter_errors(value)
        ]

    def _validator(self, mode: str, schema: Any) -> Any:
        from jsonschema import Draft4Validator

        key = (mode, id(schema))
        validator = self._validators.get(key)
        if validator is None:
            doc = self._docs[mode]
            converted = _convert(
                copy.deepcopy(schema), doc["definitions"], request=mode == "request"
            )
            # Local "#/definitions/X" refs resolve against the root: give it the definitions.
            root = {**converted, "definitions": doc["definitions"]}
            validator = self._validators[key] = Draft4Validator(root)
        return validator


def accepted_status(operation_id: str, status: int) -> AcceptedStatus | None:
    return next(
        (a for a in ACCEPTED_STATUSES if (a.operation_id, a.status) == (operation_id, status)),
        None,
    )


# -- Swagger 2.0 -> draft 4 --------------------------------------------------------------------


def _swagger_to_draft4(doc: dict[str, Any], *, request: bool) -> dict[str, Any]:
    definitions = copy.deepcopy(doc.get("definitions", {}))
    for name, schema in list(definitions.items()):
        definitions[name] = _convert(schema, doc.get("definitions", {}), request=request)
    return {"definitions": definitions}


def _read_only(schema: Any, definitions: dict[str, Any]) -> bool:
    if not isinstance(schema, dict):
        return False
    if schema.get("readOnly") is True:
        return True
    ref = schema.get("$ref", "")
    if ref.startswith("#/definitions/"):
        return _read_only(definitions.get(ref.split("/", 2)[2]), {})
    return False


def _convert(node: Any, definitions: dict[str, Any], *, request: bool) -> Any:
    """A Swagger schema as draft 4 reads it (see the module's docstring)."""
    if isinstance(node, list):
        return [_convert(item, definitions, request=request) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "definitions") and isinstance(value, dict):
            out[key] = {k: _convert(v, definitions, request=request) for k, v in value.items()}
        elif key in ("enum", "required", "x-ms-enum", "x-ms-identifiers", "example"):
            out[key] = value
        else:
            out[key] = _convert(value, definitions, request=request)
    if request and isinstance(out.get("required"), list) and "properties" in node:
        props = node["properties"]
        kept = [n for n in out["required"] if not _read_only(props.get(n), definitions)]
        if kept:
            out["required"] = kept
        else:
            del out["required"]
    if out.pop("x-nullable", False) is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


# -- helpers -----------------------------------------------------------------------------------


def _merge_patch(op: Operation, doc: dict[str, Any]) -> bool:
    return "application/merge-patch+json" in op.spec.get("consumes", doc.get("consumes", []))


def _parsed(body: Any) -> Any:
    if isinstance(body, bytes | str):
        try:
            return json.loads(body)
        except ValueError:
            return body  # _check_body says it is not JSON
    return body


def _without_nulls(body: Any) -> Any:
    """A JSON merge patch (RFC 7396) without its nulls: there null means "remove this member",
    which TypeSpec's merge-patch models allow for every optional property."""
    if isinstance(body, dict):
        return {k: _without_nulls(v) for k, v in body.items() if v is not None}
    return body


def _template_regex(template: str) -> str:
    parts = re.split(r"(\{[^}]+\})", template.rstrip("/") or "/")
    out = []
    for part in parts:
        if part.startswith("{") and part.endswith("}"):
            name = re.sub(r"\W", "_", part[1:-1])
            out.append(f"(?P<{name}>[^/]+)")
        else:
            out.append(re.escape(part))
    return "".join(out)


def _flat_query(query: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in query.items():
        if isinstance(value, list | tuple):
            if not value:
                continue
            value = value[0]
        out[key] = str(value)
    return out


def _json_path(parts: list[Any]) -> str:
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(part)):
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out


def _capped(problems: list[str]) -> list[str]:
    if len(problems) <= MAX_MESSAGES:
        return problems
    return [*problems[:MAX_MESSAGES], f"... and {len(problems) - MAX_MESSAGES} more"]


# -- picking a spec ----------------------------------------------------------------------------


@cache
def load(file_name: str) -> SpecChecker:
    """The checker of spec/`file_name` (loaded once)."""
    doc = json.loads((SPEC_DIR / file_name).read_text(encoding="utf-8"))
    return SpecChecker(doc, name=file_name, arm=file_name.startswith("arm-"))


def arm() -> SpecChecker:
    return load(ARM_FILE)


def foundry() -> SpecChecker:
    return load(FOUNDRY_FILE)


def for_url(url: str) -> SpecChecker | None:
    """The checker for `url` by its path's shape and its api-version: ARM (`/subscriptions/...`)
    at 2025-06-01, or a project's data plane (`/api/projects/{p}/...`, Azure's and the
    sandbox's) at 2025-11-15-preview. None for anything else (another api-version, such as the
    2025-09-01 Microsoft's SDKs send, is not checked)."""
    parts = urlsplit(url)
    version = dict(parse_qsl(parts.query)).get("api-version", "")
    path = parts.path
    if path.lower().startswith("/subscriptions/"):
        file_name = ARM_VERSIONS.get(version)
    elif PROJECT_PREFIX.match(path):
        file_name = FOUNDRY_VERSIONS.get(version)
    else:
        file_name = None
    return load(file_name) if file_name else None
