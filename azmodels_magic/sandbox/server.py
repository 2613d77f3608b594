"""The sandbox's HTTP server: a ThreadingHTTPServer and the request pipeline every route shares
(faults, auth, api-version, Azure-shaped errors, request ids).

The router, requests and responses are in routing.py, the routes' shared kit in kit.py, their
SQL in store.py; the routes themselves live in arm_routes.py, quota_routes.py,
foundry_routes.py, inference.py and hub_routes.py (the Hugging Face hub's stand-in).
"""

from __future__ import annotations

import errno
import hmac
import ipaddress
import json
import re
import socket
import sqlite3
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from . import arm_routes, foundry_routes, hub_routes, inference, quota_routes, spec_check
from .app import Settings
from .azurite import DEV_ACCOUNT, connection_string
from .catalog import Catalog
from .faults import FaultInjector
from .log import get_logger
from .protocol import CANARY_PATH, INFO_PATH, STORAGE_TRAFFIC_PATH
from .routing import (
    ACCOUNT,
    MAX_JSON_DEPTH,
    PROJECT,
    RESOURCE_GROUP,
    SUBSCRIPTION,
    TOO_DEEP,
    ApiError,
    Request,
    Response,
    Route,
    Router,
    error_body,
    json_depth,
    json_response,
)
from .storage_proxy import StorageProxy
from .store import Store

log = get_logger("azmodels_magic.sandbox.server")

# Ours, then what azure-mgmt-cognitiveservices sends by default.
ARM_API_VERSIONS = ("2025-06-01", "2024-10-01", "2025-09-01")
FOUNDRY_API_VERSIONS = ("2025-11-15-preview", "v1")
# Microsoft.Resources (the provider's registration: where accounts can be made).
RESOURCES_API_VERSIONS = ("2022-09-01", "2021-04-01")
METRICS_API_VERSIONS = ("2024-02-01", "2023-10-01", "2021-05-01", "2018-01-01", *ARM_API_VERSIONS)
WRITE_METHODS = frozenset({"PUT", "PATCH", "POST", "DELETE"})
# ARM's front door caps a request body (far below this); the sandbox's bodies are small JSON.
MAX_BODY_BYTES = 8 * 1024 * 1024
# A body must arrive within this (loopback): a sender that stops short must not hold a thread.
BODY_SECONDS = 5.0
# A connection idle this long between requests is closed (a client reconnects).
IDLE_SECONDS = 300.0
# After an answer given without reading the body: how long to take in (and drop) the rest, so
# the close does not reset the connection before the client has read the answer.
DRAIN_SECONDS = 2.0


class Sandbox:
    """The application: settings, state, catalog, Azurite and the URL builders routes need."""

    def __init__(self, settings: Settings, store: Store, blob_port: int, storage_key: str):
        self.settings = settings
        self.store = store
        self.azurite_port = blob_port  # where Azurite listens: the sandbox's own storage calls
        self.blob_port = blob_port  # the port clients are handed (the counting relay's, if any)
        self.storage_proxy: StorageProxy | None = None
        self.storage_key = storage_key  # Azurite's account key: signs the SAS handed out
        self.catalog = Catalog.load(settings.catalog_size, settings.catalog_file)
        self.faults = FaultInjector(
            settings.fault_rate, settings.seed, settings.fault_retry_after_ms
        )
        self.token = store.secret("token")
        self.reader_token = store.secret("reader_token")
        self.keys = (store.secret("key1", 24), store.secret("key2", 24))
        self.hub_token = "hf_" + store.secret("hub_token", 24)  # opens the hub's gated repos
        self.base_url = ""  # set once the server is bound
        self.router = Router()
        arm_routes.register(self.router)
        quota_routes.register(self.router)
        foundry_routes.register(self.router)
        inference.register(self.router)
        hub_routes.register(self.router)
        self._blob_service = None
        self._blob_lock = threading.Lock()
        self.info: dict[str, Any] | None = None  # the JSON line, served at INFO_PATH
        # The second listener, standing for Azure ML's operations host (another origin on
        # Azure: EVIDENCE.md §1); empty until it is bound. What it was sent: `canary`.
        self.operations_base_url = ""
        self.canary: list[dict[str, str]] = []
        self._canary_lock = threading.Lock()
        self._spec_log_lock = threading.Lock()

    # -- names and URLs ---------------------------------------------------------------------------

    @property
    def subscription(self) -> str:
        return SUBSCRIPTION

    @property
    def account_id(self) -> str:
        return (
            f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}"
            f"/providers/Microsoft.CognitiveServices/accounts/{ACCOUNT}"
        )

    @property
    def project_arm_id(self) -> str:
        return f"{self.account_id}/projects/{PROJECT}"

    @property
    def project_endpoint(self) -> str:
        return f"{self.base_url}/api/projects/{PROJECT}"

    @property
    def blob_endpoint(self) -> str:
        """The storage endpoint clients are given (in SAS URLs, the ready line)."""
        return f"http://127.0.0.1:{self.blob_port}/{DEV_ACCOUNT}"

    @property
    def azurite_endpoint(self) -> str:
        """Azurite itself: the sandbox's own storage calls, never counted as a client's."""
        return f"http://127.0.0.1:{self.azurite_port}/{DEV_ACCOUNT}"

    def count_storage_traffic(self) -> None:
        """Put the counting relay in front of Azurite: from now on clients are handed its port."""
        self.storage_proxy = StorageProxy(self.settings.host, self.azurite_port).start()
        self.blob_port = self.storage_proxy.port

    def container_url(self, container: str, prefix: str = "") -> str:
        url = f"{self.blob_endpoint}/{container}"
        return f"{url}/{prefix}" if prefix else url

    def url(self, path: str, **query: Any) -> str:
        query = {k: v for k, v in query.items() if v is not None}
        return f"{self.base_url}{path}" + (f"?{urlencode(query)}" if query else "")

    def operations_url(self, path: str, **query: Any) -> str:
        """A URL on the operations listener (the main one when none was started)."""
        query = {k: v for k, v in query.items() if v is not None}
        base = self.operations_base_url or self.base_url
        return f"{base}{path}" + (f"?{urlencode(query)}" if query else "")

    def blob_service(self):
        """A BlobServiceClient on Azurite with its account key (imported lazily)."""
        with self._blob_lock:
            if self._blob_service is None:
                from azure.storage.blob import BlobServiceClient

                self._blob_service = BlobServiceClient.from_connection_string(
                    connection_string(self.azurite_endpoint, self.storage_key),
                    retry_total=2, connection_timeout=10, read_timeout=60,
                )  # fmt: skip
            return self._blob_service

    def quota_limit(self, sku: str) -> int:
        for name, limit in self.settings.quota.items():
            if name.lower() == sku.lower():
                return limit
        return self.settings.default_quota

    # -- paging ---------------------------------------------------------------------------------

    def skip_token(self, req: Request) -> int:
        raw = req.query.get("$skipToken") or req.query.get("$skiptoken") or "0"
        try:
            offset = int(raw)
        except ValueError:
            raise ApiError(
                400, "InvalidSkipToken", f"The $skipToken '{raw}' is not valid."
            ) from None
        if offset < 0:
            raise ApiError(400, "InvalidSkipToken", f"The $skipToken '{raw}' is not valid.")
        return offset

    def next_link(self, req: Request, offset: int) -> str:
        query = {k: v for k, v in req.query.items() if k.lower() != "$skiptoken"}
        query["$skipToken"] = str(offset)
        return f"{self.base_url}{req.path}?{urlencode(query, safe='$')}"

    def page(self, req: Request, items: list[Any], total: int, offset: int) -> dict[str, Any]:
        """A list body: `items` is this page, `total` how many exist in all."""
        body: dict[str, Any] = {"value": items}
        if offset + len(items) < total:
            body["nextLink"] = self.next_link(req, offset + len(items))
        return body

    # -- the request pipeline -------------------------------------------------------------------

    def handle(self, req: Request) -> Response:
        checker = spec_check.for_url(f"{req.path}?{urlencode(req.query)}")
        response = self._handle(req, checker)
        if (
            checker is not None
            and self.settings.spec_log
            and checker.find(req.method, req.path) is not None
        ):
            # Judging an answer changes nothing a client sees: only worth its time when logged.
            body = response.body if response.content_type.startswith("application/json") else b""
            problems = checker.check_response(req.method, req.path, response.status, body or None)
            self.log_spec_violation(req, response.status, "response", problems)
        return response

    def _handle(self, req: Request, checker: spec_check.SpecChecker | None) -> Response:
        if req.path == INFO_PATH and req.method == "GET":
            loopback = self.settings.host in ("127.0.0.1", "localhost", "::1")
            if self.info is not None and loopback:
                return json_response(200, self.info)
            return json_response(404, error_body("NotFound", "No sandbox information here."))
        if req.path == CANARY_PATH and req.method == "GET":
            with self._canary_lock:
                return json_response(200, {"value": list(self.canary)})
        if req.path == STORAGE_TRAFFIC_PATH and req.method == "GET":
            if self.storage_proxy is None:
                return json_response(
                    404,
                    error_body(
                        "NotCounting",
                        "Storage traffic is not counted: start the sandbox with "
                        "--count-storage-traffic.",
                    ),
                )
            return json_response(200, self.storage_proxy.report())
        if self.settings.latency_ms > 0:
            time.sleep(self.settings.latency_ms / 1000)
        fault = self.faults.draw()
        if fault is not None:
            if req.path.lower().startswith("/openai/deployments/"):
                self._log_faulted_inference(req, fault.status)
            return json_response(
                fault.status,
                error_body(fault.code, fault.message),
                {**fault.headers, "x-ms-error-code": fault.code},
            )
        try:
            route, params = self.router.match(req.method, req.path)
            req.params = params
            if route.plane == "hub":  # the hub's own token rules and error shape, no api-version
                self.take_body(req, json_only=False)
                return route.handler(self, req)
            if route.plane == "inference":
                try:
                    inference.authorize(self, req)
                except ApiError:
                    # Refused without its body: the route answers (and counts) the refusal.
                    req.read_body = None
                    return route.handler(self, req)
            else:
                self.authenticate(req, route)
                self.check_api_version(req, route.plane)
            self.take_body(req)
            if checker is not None:
                self.check_spec(req, checker)
            return route.handler(self, req)
        except ApiError as exc:
            headers = {**exc.headers, "x-ms-error-code": exc.code}
            return json_response(exc.status, error_body(exc.code, exc.message, exc.extra), headers)

    def take_body(self, req: Request, json_only: bool = True) -> None:
        """Read the body (now that the sender is known) and refuse what no JSON route takes: a
        media type other than JSON (415, as ARM) or JSON nested too deeply to walk (400)."""
        if req.read_body is not None:
            req.body, req.read_body = req.read_body(), None
        if not json_only or not req.body.strip():
            return
        media = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"The content media type '{media or 'null'}' is not supported. Only "
                "'application/json' is supported.",
            )
        try:
            parsed = json.loads(req.body)
        except (ValueError, UnicodeDecodeError):
            return  # the route answers that itself, naming the JSON error
        except RecursionError:
            raise ApiError(400, "InvalidRequestContent", TOO_DEEP) from None
        if json_depth(parsed) > MAX_JSON_DEPTH:
            raise ApiError(400, "InvalidRequestContent", TOO_DEEP)

    def handle_operations(self, req: Request) -> Response:
        """The operations listener: records what each request carried (the token canary),
        then serves createAsync's operation polls with the same bearer check as the main one."""
        header = req.headers.get("Authorization")
        kind = "none"
        if header is not None:
            scheme, _, token = header.strip().partition(" ")
            if scheme.lower() != "bearer":
                kind = "other"
            elif self.principal_for(token.strip()) is not None:
                kind = "sandbox-token"
            else:
                kind = "other-bearer"
        with self._canary_lock:
            self.canary.append({"method": req.method, "path": req.path, "authorization": kind})
        try:
            if req.method != "GET":
                raise ApiError(405, "MethodNotAllowed", f"{req.method} is not served here.")
            match = foundry_routes.OPERATION_PATH.fullmatch(req.path)
            if match is None:
                raise ApiError(404, "NotFound", "No operation here.")
            req.params = match.groupdict()
            route = Route("GET", match.re, foundry_routes.poll_operation, "foundry", "read")
            self.authenticate(req, route)
            return route.handler(self, req)
        except ApiError as exc:
            headers = {**exc.headers, "x-ms-error-code": exc.code}
            return json_response(exc.status, error_body(exc.code, exc.message, exc.extra), headers)

    def check_spec(self, req: Request, checker: spec_check.SpecChecker) -> None:
        """Refuse a request the vendored spec refuses, before any route changes anything.

        The code: a body the schema refuses is `InvalidRequestContent` (what ARM's front door
        answers for a body it cannot take, and what the routes already use for a malformed
        one); a path or query parameter, `InvalidParameter` (the routes' code for those). The
        message is the first violation."""
        if checker.find(req.method, req.path) is None:
            return  # a route the vendored subset does not describe (operation polls, ...)
        body: Any = req.body
        if body.strip():
            try:
                body = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                return  # the route answers that itself, naming the JSON error
        else:
            body = None
        problems = checker.check_request(req.method, req.path, req.query, body)
        if problems:
            self.log_spec_violation(req, 400, "request", problems)
            first = problems[0].splitlines()[0]
            parameter = re.match(r"\w+: (path|query) parameter ", first)
            code = "InvalidParameter" if parameter else "InvalidRequestContent"
            raise ApiError(400, code, first)

    def log_spec_violation(
        self, req: Request, status: int | None, what: str, problems: list[str]
    ) -> None:
        if not problems or not self.settings.spec_log:
            return
        line = {"method": req.method, "path": req.path, "status": status, "what": what,
                "messages": problems}  # fmt: skip
        text = json.dumps(line) + "\n"
        # One write per line in append mode: lines from sandboxes sharing the file stay whole.
        with self._spec_log_lock, open(self.settings.spec_log, "a", encoding="utf-8") as f:
            f.write(text)

    def _log_faulted_inference(self, req: Request, status: int) -> None:
        # Azure Monitor counts throttled and failed calls too: the metrics must see them.
        parts = req.path.split("/")
        if len(parts) > 3 and parts[3]:
            latency = (time.perf_counter() - req.received) * 1000
            self.store.log_request(unquote(parts[3]), time.time(), latency, status)

    def bearer(self, req: Request) -> str | None:
        header = req.headers.get("Authorization")
        if header is None:
            return None
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header must be 'Bearer <token>'.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return token.strip()

    def principal_for(self, token: str) -> str | None:
        if hmac.compare_digest(token, self.token):
            return "owner"
        if hmac.compare_digest(token, self.reader_token):
            return "reader"
        return None

    def authenticate(self, req: Request, route: Route) -> None:
        token = self.bearer(req)
        if token is None:
            raise ApiError(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        principal = self.principal_for(token)
        if principal is None:
            raise ApiError(
                401,
                "InvalidAuthenticationToken",
                "The access token is invalid or has expired.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        req.principal = principal
        if principal == "reader" and req.method in WRITE_METHODS:
            raise ApiError(
                403,
                "AuthorizationFailed",
                "The client 'sandbox-reader' does not have authorization to perform action "
                f"'{route.action}' over scope '{self.account_id}' or the scope is invalid. "
                "The reader token can only read.",
            )

    def check_api_version(self, req: Request, plane: str) -> None:
        accepted = {
            "arm": ARM_API_VERSIONS,
            "metrics": METRICS_API_VERSIONS,
            "foundry": FOUNDRY_API_VERSIONS,
            "resources": RESOURCES_API_VERSIONS,
        }[plane]
        version = req.query.get("api-version")
        if version is None:
            raise ApiError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if version not in accepted:
            raise ApiError(
                400,
                "InvalidApiVersionParameter",
                f"The api-version '{version}' is invalid. The supported versions are "
                f"'{', '.join(accepted)}'.",
            )


def _loopback_host(host: str) -> bool:
    """`localhost`, a 127.x.y.z address or ::1, as written in a Host or Origin (port allowed)."""
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:port
        host = host[1 : host.find("]")] if "]" in host else ""
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or (
            "disk is full" in str(exc)
        )
    return False


def foreign_request(headers: Any) -> str | None:
    """Why a request must not be served, or None. A web page can reach a loopback server: by
    DNS rebinding (its own name, resolved to 127.0.0.1: the Host header says that name) or by
    sending a request across origins (the Origin header says the page's origin)."""
    hosts = headers.get_all("Host") or []
    host = hosts[0] if len(hosts) == 1 else ", ".join(hosts)
    if len(hosts) != 1 or not _loopback_host(host):
        return f"Host '{host or ''}' is not a loopback address"
    origin = headers.get("Origin")
    if origin is not None:
        scheme, _, rest = origin.partition("://")
        if scheme not in ("http", "https") or not _loopback_host(rest.split("/", 1)[0]):
            return f"Origin '{origin}' is not a loopback origin"
    return None


class _HTTPHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, the body waits for the client's
    # delayed ACK (40 ms per request).
    disable_nagle_algorithm = True
    server_version = "azmodels-sandbox"
    sandbox: Sandbox  # set on the subclass made by make_server
    entry = "handle"  # the Sandbox method that answers this listener's requests
    timeout = IDLE_SECONDS  # socketserver sets it on the connection: no client holds one for ever
    body_pending = False

    def _read_body(self) -> bytes:
        """The body, once: refused from its Content-Length alone when too large (413, nothing
        read), and within BODY_SECONDS (408 when it stops short)."""
        self.body_pending = False
        raw = self.headers.get("Content-Length") or "0"
        if not raw.strip().isdigit():
            self.close_connection = True
            raise ApiError(
                400, "InvalidRequestContent", f"Content-Length '{raw[:40]}' is not a size."
            )
        length = int(raw)
        if length > MAX_BODY_BYTES:
            self.body_pending = True
            raise ApiError(
                413,
                "RequestEntityTooLarge",
                f"The request body is {length} bytes; the limit is 8 MiB ({MAX_BODY_BYTES} bytes).",
            )
        parts: list[bytes] = []
        got, deadline = 0, time.monotonic() + BODY_SECONDS
        try:
            while got < length:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                self.connection.settimeout(left)
                chunk = self.rfile.read1(min(length - got, 65536))
                if not chunk:
                    break
                parts.append(chunk)
                got += len(chunk)
        except TimeoutError:
            self.close_connection = True
            raise ApiError(
                408,
                "RequestTimeout",
                f"The request body did not arrive within {BODY_SECONDS:.0f} seconds: "
                f"{got} of {length} bytes.",
            ) from None
        finally:
            self.connection.settimeout(self.timeout)
        if got < length:
            self.close_connection = True
            raise ApiError(
                400, "InvalidRequestContent", f"The request body ended at {got} of {length} bytes."
            )
        return b"".join(parts)

    def _drain(self) -> None:
        try:
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + DRAIN_SECONDS
            while (left := deadline - time.monotonic()) > 0:
                self.connection.settimeout(left)
                if not self.connection.recv(65536):
                    break
        except OSError:
            pass  # gone or silent: closing is all that is left

    def version_string(self) -> str:
        return self.server_version

    def _dispatch(self) -> None:
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        try:
            # Nothing of the body is read here: the pipeline reads it once the sender is known.
            self.body_pending = (self.headers.get("Content-Length") or "0").strip() != "0"
            split = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
            req = Request(self.command, split.path, query, self.headers, b"", received=started,
                          read_body=self._read_body)  # fmt: skip
            refused = foreign_request(self.headers)
            if refused:  # before any route, the info page and fault injection alike
                response = json_response(
                    403,
                    error_body(
                        "ForeignRequest",
                        f"The sandbox serves only this machine: {refused}. Use "
                        "http://127.0.0.1:PORT (or localhost).",
                    ),
                    {"x-ms-error-code": "ForeignRequest"},
                )
            else:
                response = getattr(self.sandbox, self.entry)(req)
        except Exception as exc:  # the sandbox must answer like a service, not drop the connection
            if _disk_full(exc):
                # Not a transient 500 a client retries for minutes: its cause, at once.
                folder = self.sandbox.settings.data_dir
                log.error("the data folder %s is full: %s", folder, exc)
                response = json_response(
                    507,
                    error_body(
                        "InsufficientStorage",
                        f"The sandbox's disk is full: its data folder {folder} has no space "
                        "left. Free space there, or start the sandbox with another data folder.",
                    ),
                    {"x-ms-error-code": "InsufficientStorage"},
                )
            else:
                response = self._failed()
        self._respond(response, started, request_id)

    def _failed(self) -> Response:
        log.exception("unhandled error on %s %s", self.command, urlsplit(self.path).path)
        return json_response(
            500,
            error_body("InternalServerError", "The sandbox failed on this request."),
            {"x-ms-error-code": "InternalServerError"},
        )

    def _respond(self, response: Response, started: float, request_id: str) -> None:
        self.send_response(response.status)
        self.send_header("x-ms-request-id", request_id)
        if response.content_type and response.body:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        unread = self.body_pending
        if unread:  # what is left of the body cannot be taken for the next request
            self.close_connection = True
            self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body and self.command != "HEAD":
            self.wfile.write(response.body)
        if unread:
            self._drain()
        log.info(
            "%s %s %d %.1fms",
            self.command,
            urlsplit(self.path).path,
            response.status,
            (time.perf_counter() - started) * 1000,
        )

    # OPTIONS (a browser's CORS preflight) goes through the same checks and routes: no route
    # answers it, and no response ever carries Access-Control-Allow-* headers.
    # HEAD: the hub stand-in's resolve route (no Azure route answers it).
    do_GET = do_HEAD = do_PUT = do_PATCH = do_POST = do_DELETE = do_OPTIONS = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        # The stdlib logs full request lines (queries included); our own line is enough.
        pass


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def make_server(sandbox: Sandbox) -> SandboxHTTPServer:
    handler = type("SandboxHandler", (_HTTPHandler,), {"sandbox": sandbox})
    server = SandboxHTTPServer((sandbox.settings.host, sandbox.settings.port), handler)
    host = sandbox.settings.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    sandbox.base_url = f"http://{host}:{server.server_address[1]}"
    return server


def make_operations_server(sandbox: Sandbox) -> SandboxHTTPServer:
    """The second listener (another loopback port): Azure ML's operations host stand-in."""
    handler = type(
        "OperationsHandler", (_HTTPHandler,), {"sandbox": sandbox, "entry": "handle_operations"}
    )
    server = SandboxHTTPServer((sandbox.settings.host, 0), handler)
    host = sandbox.settings.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    sandbox.operations_base_url = f"http://{host}:{server.server_address[1]}"
    return server
