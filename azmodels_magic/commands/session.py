"""The session commands: connect and the sandbox group."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import UsageError
from ..rules import fraction, non_negative_int
from ..sandbox import protocol as sandbox_protocol
from ..steps import NextStep
from . import Outcome, aligned_lines
from .quota import switch_account
from .table import Argument, Kind, command, group

if TYPE_CHECKING:
    import argparse

    from .app import App

_CONNECT_FLAGS = {
    "project_endpoint": "project_endpoint",
    "subscription": "subscription_id",
    "resource_group": "resource_group",
    "account": "account",
    "project": "project",
    "location": "location",
    "tenant": "tenant_id",
    "arm_endpoint": "arm_endpoint",
}


@command(
    "connect", "connect to a Foundry project (no options: show the connection)",
    Argument("--project-endpoint", metavar="URL"),
    Argument("--subscription", metavar="ID"),
    Argument("--resource-group", metavar="RG"),
    Argument("--account", kind=Kind.ACCOUNT, metavar="NAME"),
    Argument("--project", metavar="NAME"),
    Argument("--location", metavar="REGION"),
    Argument("--tenant", metavar="ID"),
    Argument("--arm-endpoint", metavar="URL"),
    Argument("--sandbox", "attach to a running sandbox", metavar="URL"),
)  # fmt: skip
def connect(app: App, args: argparse.Namespace) -> Outcome:
    settings = {
        trait: getattr(args, flag) for flag, trait in _CONNECT_FLAGS.items() if getattr(args, flag)
    }
    if args.sandbox and settings:
        raise UsageError("--sandbox takes no other connection options: give one or the other.")
    if args.sandbox:
        info = app.attach_sandbox(args.sandbox)
        return Outcome(value=None, message=f"Connected to the sandbox at {info.arm_endpoint}.")
    if set(settings) == {"account"}:
        return switch_account(app, settings["account"])
    if settings:
        app.set_connection(**settings)
        message = "Connection updated: " + ", ".join(sorted(settings))
    else:
        message = "Current connection:"
    rows = app.connection_summary()
    return Outcome(value=None, message=message + "\n" + aligned_lines(rows), data=rows)


group("sandbox", "run the local sandbox (Azure stand-in) and connect to it")


@command(
    "sandbox start", "start a sandbox in the background and connect to it",
    Argument("--data-dir", "keep state here (default: the terminal's one per-user folder, "
             "reused by the next start; a notebook's sandbox is throwaway)",
             kind=Kind.LOCAL_PATH, metavar="DIR"),
    Argument("--reset", "start with empty state", action="store_true"),
    Argument("--fault-rate", type=fraction, default=0.0, metavar="F"),
    Argument("--seed", type=non_negative_int, metavar="N"),
    Argument("--provision-seconds", type=float, default=sandbox_protocol.PROVISION_SECONDS,
             metavar="S"),
    Argument("--catalog-size", type=non_negative_int, default=0, metavar="N"),
    Argument("--page-size", type=non_negative_int, default=sandbox_protocol.PAGE_SIZE,
             metavar="N"),
    Argument("--regions", "the subscription's regions (default: eastus eastus2 swedencentral "
             "westus3)", nargs="+", action="extend", default=[], metavar="R"),
    Argument("--accounts", "more accounts besides the default one, e.g. team-b=swedencentral",
             nargs="+", action="extend", default=[], metavar="NAME=REGION"),
    Argument("--quota", "quota limits, e.g. eastus:OpenAI.GlobalStandard.gpt-4o=50 (default "
             "1000 each)", nargs="+", action="extend", default=[],
             metavar="[REGION:]USAGE|SKU=N"),
)  # fmt: skip
def sandbox_start(app: App, args: argparse.Namespace) -> Outcome:
    info = app.start_sandbox(
        data_dir=args.data_dir,
        fault_rate=args.fault_rate,
        seed=args.seed,
        provision_seconds=args.provision_seconds,
        catalog_size=args.catalog_size,
        page_size=args.page_size or 100,
        reset=args.reset or None,
        **_world_options(args),
    )
    steps: tuple[NextStep, ...] = ()
    if app.detach_sandbox or args.data_dir:
        steps = (NextStep.of("sandbox start", reset=True),)
        kept = f"its state is kept in {info.data_dir} ({{0}} starts clean)"
    else:
        kept = "it is throwaway: its state is deleted when it stops (--data-dir DIR keeps it)"
    return Outcome(
        message=(
            f"Sandbox running at {info.arm_endpoint} (project {info.project}, {info.location}); "
            f"this session is connected to it; {kept}."
        ),
        steps=steps,
        data={"arm_endpoint": info.arm_endpoint, "project_endpoint": info.project_endpoint},
    )


def _world_options(args: argparse.Namespace) -> dict[str, list[str]]:
    """--regions/--accounts/--quota, passed through to the sandbox process as they are."""
    extra: list[str] = []
    for flag in ("regions", "accounts", "quota"):
        values = getattr(args, flag, None) or []
        if values:
            extra += [f"--{flag}", *values]
    return {"extra_args": extra} if extra else {}


@command("sandbox stop", "stop the sandbox this session started")
def sandbox_stop(app: App, args: argparse.Namespace) -> Outcome:
    stopped = app.stop_sandbox()
    return Outcome(message="Sandbox stopped." if stopped else "No sandbox was running.")


@command("sandbox status", "the sandbox this session is connected to")
def sandbox_status(app: App, args: argparse.Namespace) -> Outcome:
    rows = app.sandbox_status()
    if not rows:
        return Outcome(
            message="No sandbox: start one with {0}.",
            steps=(NextStep.of("sandbox start"),),
            data={},
        )
    return Outcome(message="Sandbox:\n" + aligned_lines(rows), data=rows)
