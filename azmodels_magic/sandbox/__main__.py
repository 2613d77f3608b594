"""`python -m azmodels_magic.sandbox serve`: start Azurite and the sandbox server, print one JSON
line describing them on stdout, and serve until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

from . import hub_routes
from .app import Settings
from .azurite import Azurite, AzuriteError, new_account_key
from .log import RedactingFilter, get_logger
from .protocol import HOST, LOCATION, PAGE_SIZE, PROVISION_SECONDS, SandboxInfo
from .regions import DEFAULT_REGIONS, check_setup, parse_account, parse_regions
from .routing import ACCOUNT, PROJECT, RESOURCE_GROUP, SUBSCRIPTION
from .server import Sandbox, make_operations_server, make_server
from .store import Store

log = get_logger("azmodels_magic.sandbox")


def _quota(text: str) -> tuple[str, int]:
    sku, sep, value = text.partition("=")
    try:
        limit = int(value)
    except ValueError:
        limit = -1
    if not sep or not sku or limit < 0:
        raise argparse.ArgumentTypeError(
            "expected [REGION:]USAGE=N or [REGION:]SKU=N (e.g. GlobalStandard=50 or "
            f"eastus:OpenAI.GlobalStandard.gpt-4o=20), got '{text}'"
        )
    return sku, limit


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m azmodels_magic.sandbox",
        description="A loopback stand-in for Azure ARM and Foundry, with Azurite for weights.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the sandbox and serve until SIGTERM/SIGINT")
    serve.add_argument("--host", default=HOST)
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--data-dir", help="state folder (default: a fresh temporary folder)")
    serve.add_argument("--fault-rate", type=float, default=0.0, help="share of requests failed")
    serve.add_argument("--seed", type=int, default=None, help="seed of the fault generator")
    serve.add_argument("--fault-retry-after-ms", type=int, default=1000)
    serve.add_argument("--provision-seconds", type=float, default=PROVISION_SECONDS)
    serve.add_argument("--catalog-size", type=int, default=0, help="synthetic models to add")
    serve.add_argument("--catalog-file", help=argparse.SUPPRESS)
    serve.add_argument("--page-size", type=int, default=PAGE_SIZE)
    serve.add_argument(
        "--quota",
        type=_quota,
        nargs="+",
        action="extend",
        default=[],
        metavar="[REGION:]USAGE|SKU=N",
        help="quota limits: one usage name, or a pool shared by a SKU's usages (default 1000)",
    )
    serve.add_argument(
        "--regions",
        nargs="+",
        action="extend",
        default=[],
        metavar="REGION",
        help="the subscription's regions (default: eastus eastus2 swedencentral westus3)",
    )
    serve.add_argument(
        "--accounts",
        nargs="+",
        action="extend",
        default=[],
        metavar="[RG/]NAME=REGION[:denied|:hung|:openai]",
        help="more AI Services accounts besides the default one (e.g. team-b=swedencentral); "
        "':denied': listed, but its deployments can't be read; ':hung': listed, but its routes "
        "never answer; ':openai': an account of kind OpenAI",
    )
    serve.add_argument("--sas-minutes", type=float, default=60.0)
    serve.add_argument(
        "--latency-ms", type=float, default=0.0, help="time added to each request (a WAN's)"
    )
    serve.add_argument("--location", default=LOCATION)
    serve.add_argument(
        "--count-storage-traffic",
        action="store_true",
        help="relay storage through a counter: the request-body bytes clients send to Azurite "
        "are served at /.sandbox/storage/requests",
    )
    serve.add_argument("--log-level", default="INFO")
    return parser


def _configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())  # covers records propagated from other libraries too
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("azure").setLevel(logging.WARNING)


def serve(args: argparse.Namespace) -> int:
    try:
        regions = parse_regions(args.regions or list(DEFAULT_REGIONS), args.location)
        accounts = [parse_account(text, RESOURCE_GROUP) for text in args.accounts]
    except ValueError as exc:
        raise SystemExit(f"sandbox: {exc}") from None
    problem = check_setup(regions, accounts, dict(args.quota))
    if problem:
        raise SystemExit(f"sandbox: {problem}")
    if args.page_size < 1:
        raise SystemExit("--page-size must be at least 1")
    if not 0.0 <= args.fault_rate <= 1.0:
        raise SystemExit("--fault-rate must be between 0 and 1")
    # The state holds tokens, the storage key and users' weights: everything this process and
    # Azurite (which inherits it) create is private to the user, whatever umask we were given.
    os.umask(0o077)
    own_dir = args.data_dir is None
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="azmodels-sandbox-")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(data_dir, 0o700)  # a folder made before this rule (or by someone else's umask)
    store = Store(data_dir / "sandbox.sqlite3", default_account=ACCOUNT)
    previous = int(store.meta("azurite_port") or 0)
    # Kept with the data, like the tokens: SAS URIs handed out before a restart stay valid.
    with store.transaction():
        storage_key = store.meta("azurite_key")
        if storage_key is None:
            storage_key = new_account_key()
            store.set_meta("azurite_key", storage_key)
    try:
        azurite = Azurite.start(data_dir / "azurite", port=previous, account_key=storage_key)
    except AzuriteError:
        if not previous:
            raise
        log.info("Azurite's previous port %d is taken: picking another", previous)
        azurite = Azurite.start(data_dir / "azurite", port=0, account_key=storage_key)
    store.set_meta("azurite_port", str(azurite.port))
    try:
        settings = Settings(
            data_dir=data_dir,
            host=args.host,
            port=args.port,
            fault_rate=args.fault_rate,
            seed=args.seed,
            fault_retry_after_ms=args.fault_retry_after_ms,
            provision_seconds=args.provision_seconds,
            catalog_size=args.catalog_size,
            page_size=args.page_size,
            quota=dict(args.quota),
            sas_minutes=args.sas_minutes,
            location=args.location,
            catalog_file=args.catalog_file,
            regions=regions,
            accounts=tuple(args.accounts),
            latency_ms=max(0.0, args.latency_ms),
            count_storage_traffic=args.count_storage_traffic,
        )
        sandbox = Sandbox(settings, store, azurite.port, storage_key)
        if settings.count_storage_traffic:
            sandbox.count_storage_traffic()
        server = make_server(sandbox)
        operations = make_operations_server(sandbox)
    except BaseException:
        azurite.stop()
        raise
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, name="sandbox-http", daemon=True)
    thread.start()
    threading.Thread(
        target=operations.serve_forever, name="sandbox-operations", daemon=True
    ).start()
    info = SandboxInfo(
        arm_endpoint=sandbox.base_url,
        project_endpoint=sandbox.project_endpoint,
        subscription_id=SUBSCRIPTION,
        resource_group=RESOURCE_GROUP,
        account=ACCOUNT,
        project=PROJECT,
        location=settings.location,
        regions=list(regions),
        accounts=[ACCOUNT, *(parse_account(a, RESOURCE_GROUP).name for a in args.accounts)],
        token=sandbox.token,
        reader_token=sandbox.reader_token,
        blob_endpoint=sandbox.blob_endpoint,
        storage_key=storage_key,
        hub_token=sandbox.hub_token,
        data_dir=str(data_dir),
        pid=os.getpid(),
    ).to_dict()
    try:  # before the ready line: a client never sees storage without the hub's container
        hub_routes.seed(sandbox)
    except Exception:  # Azurite failing already: its routes try again, its watch below stops us
        log.warning("seeding the hub stand-in's container failed", exc_info=True)
    sandbox.info = info  # served at protocol.INFO_PATH, for a launcher's discover()
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    # Importing azure.storage.blob takes most of a second: do it now, not in the first upload.
    threading.Thread(target=sandbox.blob_service, name="blob-warmup", daemon=True).start()
    log.info(
        "sandbox serving on %s (Azurite on %d, %d catalog models, data in %s)",
        sandbox.base_url,
        azurite.port,
        len(sandbox.catalog),
        data_dir,
    )
    try:
        while not stop.wait(0.5):
            if azurite.process.poll() is not None:
                log.error("Azurite exited with code %s: stopping", azurite.process.returncode)
                return 1
    finally:
        server.shutdown()
        server.server_close()
        operations.shutdown()
        operations.server_close()
        if sandbox.storage_proxy is not None:
            sandbox.storage_proxy.stop()
        azurite.stop()
        store.close()
        if own_dir:
            shutil.rmtree(data_dir, ignore_errors=True)
        log.info("sandbox stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(args.log_level)
    if args.command == "serve":
        return serve(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
