"""The deployment commands: deploy and the deployments group."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..cache import bulk_objects
from ..errors import AzModelsError, UsageError
from ..presentation.confirm import confirm
from ..presentation.progress import StatusProgress
from ..presentation.tables import deployments_frame, metrics_frame
from ..records import CUSTOM, BaseModel
from ..results.deployments import KEY_ENV, accepted_text
from ..rules import (
    STATUSES,
    TYPES,
    capacity,
    deployment_name,
    model_format,
    suggest_deployment_name,
    version,
)
from ..steps import NextStep, Syntax, fill, front_end_of_process
from . import Outcome
from .quota import deployments_all_accounts
from .table import Argument, Kind, Output, command, group

if TYPE_CHECKING:
    import argparse

    from .app import App


def _status_bar(app: App, args: argparse.Namespace, what: str):
    """A bar that follows the operation; none with --no-progress or when not waiting for it."""
    waits = not getattr(args, "no_wait", False)
    shown = app.progress and waits and not getattr(args, "no_progress", False)
    return StatusProgress(what, enabled=shown)


def _shown(bar) -> Callable[[str], None] | None:
    """The bar as the service's status callback, or None when it shows nothing: a state nobody
    sees is not worth a request (the service reads the deployment to report it)."""
    return bar if bar.enabled else None


@command(
    "deploy", "deploy a base or custom model to an inference endpoint",
    Argument("--name", "model name (custom first, then base)", kind=Kind.MODEL, metavar="MODEL",
             positional=True),
    Argument("--deployment-name", kind=Kind.NEW_DEPLOYMENT, type=deployment_name,
             metavar="NAME"),
    Argument("--type", "pick base or custom when a name is in both", choices=TYPES),
    Argument("--sku", "SKU, e.g. GlobalStandard (default: the model's default)", kind=Kind.SKU),
    Argument("--capacity", "capacity units", type=capacity, metavar="N"),
    Argument("--region", "region of the account to deploy in", kind=Kind.REGION, metavar="R"),
    Argument("--version", "model version (default: the default one)", kind=Kind.VERSION,
             type=version),
    Argument("--model-format", "model.format to send (default: the catalog's; FireworksCustom "
             "for custom models)", kind=Kind.MODEL_FORMAT, type=model_format, metavar="F"),
    Argument("--no-wait", "return at once (status Creating)", action="store_true"),
    Argument("--no-progress", "no progress bar", action="store_true"),
    output=Output.STORE,
)  # fmt: skip
def deploy(app: App, args: argparse.Namespace) -> Outcome:
    missing = [flag for flag, value in (("--name", args.name),
               ("--deployment-name", args.deployment_name)) if not value]  # fmt: skip
    if missing:
        if not args.name and not args.deployment_name and args.front_end.forms:
            from ..presentation.forms import deploy_form  # lazy: it loads the services

            return Outcome(value=deploy_form(app), message="")
        # The advice completes what was typed: the model given, a name made from it.
        model = args.name or "MODEL"
        name = args.deployment_name or (suggest_deployment_name(args.name) if args.name else "NAME")
        raise UsageError(
            f"deploy needs {' and '.join(missing)}: e.g. {{0}}.",
            steps=[NextStep.of("deploy", name=model, deployment_name=name)],
        )
    warning = retirement_warning(app, args.name, args.type, args.version, args.front_end.write)
    with _status_bar(app, args, f"Deploying {args.deployment_name}") as bar:
        details = app.deployments.deploy(
            model=args.name,
            deployment_name=args.deployment_name,
            type=args.type,
            sku=args.sku,
            capacity=args.capacity,
            region=args.region,
            version=args.version,
            model_format=args.model_format,
            wait=not args.no_wait,
            on_status=_shown(bar),
        )
    d = details.deployment
    if details.state_unknown:  # accepted: not a failure, but say what is not known
        text = accepted_text("deploy", d.name, details.state_unknown, args.front_end.write)
        return Outcome(value=details, message=text)
    message = (
        f"Deployment '{d.name}' of {d.type} model {d.model_name} {d.model_version}: {d.status} "
        f"({d.sku} x {d.capacity})."
    )
    steps = []
    if args.no_wait:
        message += " Check progress with {0}."
        steps.append(NextStep.of("deployments show", name=d.name))
    # The outcome's first line, once: printed before the wait it would also precede a refusal
    # of the same command (bad input must stay one line).
    if warning:
        message = f"{warning}\n{message}"
    return Outcome(value=details, message=message, steps=tuple(steps))


def retirement_warning(
    app: App, name: str, type: str | None, version: str | None, syntax: Syntax
) -> str:
    """'Warning: gpt-4o 2024-11-20 retired on ...; a live model instead: ...' when deploy would
    use a base model past its retirement date (deploy goes on: Azure may still accept it), the
    step to a live one written in `syntax`; "" otherwise (or when the catalog cannot tell)."""
    if type == CUSTOM:
        return ""
    try:  # the catalog (cached) first: the lookup deploy makes is repeated only when it matters
        if not any(m.retired for m in app.models.catalog() if m.name.lower() == name.lower()):
            return ""
        target = app.models.find(name, type=type, version=version)
        if not isinstance(target, BaseModel) or not target.retired:
            return ""
        successor = app.models.successor(target)
    except AzModelsError:
        return ""  # deploy says what is wrong
    text = (
        f"Warning: {target.name} {target.version} retired on {target.inference_deprecation[:10]}:"
        " the service may stop serving it at any time (deploying it anyway)"
    )
    if successor is None:
        return text + "."
    step = NextStep.of(
        "deploy", successor.name, deployment_name=suggest_deployment_name(successor.name),
        version=successor.version if successor.name == target.name else None,
    )  # fmt: skip
    return fill(
        f"{text}; a live model instead: {successor.name} {successor.version}, {{0}}.",
        [step],
        syntax,
    )


group("deployments", "list, show, scale and delete deployments")
_DEPLOYMENT = Argument(
    "--name", "deployment name", kind=Kind.DEPLOYMENT, required=True, metavar="NAME",
    positional=True,
)  # fmt: skip
_NO_PROGRESS = Argument("--no-progress", "no progress bar", action="store_true")


@command(
    "deployments list", "deployments as a table",
    Argument("--model", "only deployments of this model", kind=Kind.MODEL, metavar="M"),
    Argument("--type", choices=(*TYPES, "all"), default="all"),
    Argument("--status", choices=STATUSES),
    Argument("--all-accounts", "deployments of every account in the subscription (account and "
             "region columns)", action="store_true"),
    output=Output.FORMAT,
)  # fmt: skip
def deployments_list(app: App, args: argparse.Namespace) -> Outcome:
    if getattr(args, "all_accounts", False):
        return deployments_all_accounts(app, args)

    with bulk_objects():
        found = app.deployments.list(model=args.model, type=args.type, status=args.status)
        frame = deployments_frame(found.deployments)
    return Outcome(value=frame, message=found.summary())


@command(
    "deployments show", "details, endpoint and last-24h metrics of a deployment",
    _DEPLOYMENT,
    Argument("--metrics", "return the hourly metrics DataFrame", action="store_true"),
    output=Output.FORMAT,
)  # fmt: skip
def deployments_show(app: App, args: argparse.Namespace) -> Outcome:
    if args.metrics:
        metrics = app.deployments.metrics(args.name)
        rate = metrics.error_rate
        return Outcome(
            value=metrics_frame(metrics),
            message=(
                f"Last 24 hours of '{args.name}': {metrics.requests} requests, error rate "
                + (f"{rate:.1%}" if rate is not None else "n/a")
                + "."
            ),
        )
    return Outcome(value=app.deployments.show(args.name))


@command(
    "deployments scale", "change a deployment's capacity",
    _DEPLOYMENT,
    Argument("--capacity", type=capacity, required=True, metavar="N"),
    Argument("--no-wait", action="store_true"),
    _NO_PROGRESS,
    output=Output.STORE,
)  # fmt: skip
def deployments_scale(app: App, args: argparse.Namespace) -> Outcome:
    current = app.deployments.settled(args.name)  # a scale in flight is waited for
    app.deployments.check_capacity(current, args.capacity)  # refusals stay one line
    if current.capacity != args.capacity:
        print(
            f"Scaling '{current.name}' ({current.sku}): capacity {current.capacity} -> "
            f"{args.capacity}"
        )
    with _status_bar(app, args, f"Scaling {args.name}") as bar:
        report = app.deployments.scale(
            args.name, capacity=args.capacity, wait=not args.no_wait, on_status=_shown(bar)
        )
    summary = report.summary(args.front_end.write)
    return Outcome(value=report.deployment, message=summary, show_value=False)


@command(
    "deployments delete", "delete a deployment (the model stays)",
    _DEPLOYMENT,
    Argument("--force", "do not ask for confirmation", action="store_true"),
    _NO_PROGRESS,
)  # fmt: skip
def deployments_delete(app: App, args: argparse.Namespace) -> Outcome:
    deployment = app.deployments.get(args.name)

    def run() -> Outcome:  # (after a widget's confirmation too: the front end is said again)
        with (
            front_end_of_process(args.front_end),
            _status_bar(app, args, f"Deleting {deployment.name}") as bar,
        ):
            return Outcome(message=app.deployments.delete(deployment.name, on_status=_shown(bar)))

    return confirm(
        expected=deployment.name,
        what=f"deployment '{deployment.name}' ({deployment.model_name})",
        action=run,
        force=args.force,
        pending=lambda widget, message: Outcome(value=widget, message=message),
        asks=args.front_end.asks,
    )


@command(
    "deployments key", "put the account's API key into $AZURE_AI_API_KEY (for the Try it snippets)",
    Argument("--name", "the deployment to call", kind=Kind.DEPLOYMENT, required=True,
             metavar="NAME", positional=True),
    description="Put the account's API key into the environment variable AZURE_AI_API_KEY, where "
    "the deployment card's Try it snippets read it (its Key line shows how): a notebook or Python "
    "sets it in its own process; a terminal prints the key only for the shell to capture, never "
    "on a screen.",
)  # fmt: skip
def deployments_key(app: App, args: argparse.Namespace) -> Outcome:
    """The account key where the Try it snippets read it, $AZURE_AI_API_KEY; never on a screen.

    The notebook's magic and Python keep it in their own process's environment. A terminal cannot
    receive a variable from a child process, so the CLI prints the key alone where its output is
    captured (`export AZURE_AI_API_KEY="$(azmodels deployments key --name X)"`, as Azure CLI
    prints keys) and, on a screen, says how to capture it instead."""
    import os

    front_end = args.front_end
    deployment = app.deployments.get(args.name)  # a typo is an error, not a silent key
    if front_end.name == "terminal":
        if front_end.stdout_is_terminal:
            return Outcome(
                message=(
                    f"The key is printed only where it is captured, never on a screen: {{0}} "
                    f"puts it into ${KEY_ENV} of this shell, where the Try it snippets of "
                    f"'{deployment.name}' read it."
                ),
                steps=(NextStep.of("deployments key", name=deployment.name, fills=KEY_ENV),),
            )
        return Outcome(message=app.deployments.api_key())
    os.environ[KEY_ENV] = app.deployments.api_key()
    return Outcome(
        message=(
            f"${KEY_ENV} now holds the API key of account {app.deployments.arm.account} (this "
            f"process only; not shown). The Try it snippets of '{deployment.name}' read it: {{0}}."
        ),
        steps=(NextStep.of("deployments show", name=deployment.name),),
    )
