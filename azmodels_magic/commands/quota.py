"""The quota commands: quota, regions, accounts list; and the handlers of `connect --account`
and `deployments list --all-accounts`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..cache import bulk_objects
from ..errors import AzModelsError, NotFoundError, UsageError
from ..presentation.quota_views import (
    accounts_frame,
    all_deployments_frame,
    quota_frame,
    regions_frame,
)
from ..rules import capacity, version
from ..wording import plural
from . import Outcome, aligned_lines
from .table import Argument, Kind, Output, command, group

if TYPE_CHECKING:
    import argparse

    from ..services.quota import QuotaService
    from .app import App


def quota_service(app: App) -> QuotaService:
    return app.quota


@command(
    "quota", "quota per region: used, limit and what is left per usage name",
    Argument("--region", "regions to show (default: the connected account's)",
             kind=Kind.REGION, dest="regions", nargs="+", action="extend", metavar="R"),
    Argument("--all-regions", "every region of the subscription", action="store_true"),
    Argument("--model", "only usages of this model", kind=Kind.BASE_MODEL, metavar="M"),
    Argument("--sku", "only usages of this SKU, e.g. GlobalStandard", metavar="S"),
    output=Output.FORMAT,
)  # fmt: skip
def quota(app: App, args: argparse.Namespace) -> Outcome:
    if args.regions and args.all_regions:
        raise UsageError("quota takes --region or --all-regions, not both.")
    report = quota_service(app).quota(
        regions=args.regions, all_regions=args.all_regions, model=args.model, sku=args.sku
    )
    message = report.summary()
    for warning in report.warnings:
        message += f"\nWarning: {warning}"
    return Outcome(value=quota_frame(report.usages), message=message)


@command(
    "regions", "where a base model can be deployed: capacity and your quota",
    Argument("--name", "base model name", kind=Kind.BASE_MODEL, required=True, metavar="MODEL",
             positional=True),
    Argument("--version", "model version (default: the default one)", kind=Kind.VERSION,
             type=version),
    Argument("--sku", "only this SKU", kind=Kind.SKU, metavar="S"),
    Argument("--capacity", "the capacity you need", type=capacity, metavar="N"),
    output=Output.FORMAT,
)  # fmt: skip
def regions(app: App, args: argparse.Namespace) -> Outcome:
    model, options = quota_service(app).regions(
        args.name, version=args.version, sku=args.sku, capacity=args.capacity
    )
    fitting = [o for o in options if o.fits]
    need = f" with capacity {args.capacity}" if args.capacity else ""
    places = sorted({o.region for o in fitting})
    message = (
        f"{model.name} {model.version}{need}: deployable in {plural(len(places), 'region')}"
        + (f" ({', '.join(places)})" if places else "")
    )
    best = next((o for o in fitting if o.account), None)
    if best is not None:
        message += (
            f"; best with your account: {best.region} ({best.account}, {best.sku}, {best.room})."
        )
    elif not options:
        message = f"{model.name} {model.version}: no region reports capacity for it" + (
            f" with SKU {args.sku}." if args.sku else "."
        )
    else:
        refused = {o.sku: o.capacity_problem for o in options if o.capacity_problem}
        if places:
            message += "."
        elif refused:  # as deploy says it: the SKU's range and step, the nearest valid values
            message += "; " + "; ".join(f"for {sku}, {why}" for sku, why in refused.items()) + "."
        else:
            message += "; lower --capacity, or ask for more quota."
    return Outcome(value=regions_frame(options), message=message)


group("accounts", "the AI Services / OpenAI accounts of the subscription")


@command(
    "accounts list", "accounts with their region, projects and deployments", output=Output.FORMAT
)
def accounts_list(app: App, args: argparse.Namespace) -> Outcome:
    summaries = quota_service(app).account_summaries()
    current = app.connection.arm.account.lower()
    mark = next((s.account.name for s in summaries if s.account.name.lower() == current), "")
    message = f"{plural(len(summaries), 'account')} in the subscription"
    message += f" (connected: {mark})." if mark else "."
    unread = [s for s in summaries if s.note]
    if unread:
        message += f" {plural(len(unread), 'account')} could not be read (see note)."
    return Outcome(value=accounts_frame(summaries), message=message)


def deployments_all_accounts(app: App, args: argparse.Namespace) -> Outcome:
    with bulk_objects():
        result = quota_service(app).all_deployments()
        frame = all_deployments_frame(result)
    for name, column in (("model", "model"), ("type", "type"), ("status", "status")):
        wanted = getattr(args, name, None)
        if wanted and wanted != "all":
            keep = frame[column].str.lower() == str(wanted).lower()
            frame = frame[keep | (frame["note"].fillna("") != "")].reset_index(drop=True)
    message = result.summary()
    for entry in result.warnings:
        message += f"\nWarning: {entry.account.name}: {entry.warning}"
    return Outcome(value=frame, message=message)


def switch_account(app: App, name: str) -> Outcome:
    """`connect --account NAME`: that account, with its resource group and region."""
    try:
        account = quota_service(app).account_named(name)
    except NotFoundError:
        raise
    except AzModelsError:  # accounts cannot be listed here: the name alone, as before
        app.set_connection(account=name)
        rows = app.connection_summary()
        return Outcome(message="Connection updated: account\n" + aligned_lines(rows), data=rows)
    # The project belongs to the account: keeping the previous one would register uploads
    # into the other account's project. Its default (or only) project, else none.
    projects = quota_service(app).client_for(account).projects()
    chosen = [p for p in projects if p[2]] if len(projects) > 1 else projects
    if len(chosen) > 1 or (projects and not chosen):
        names = ", ".join(p[0] for p in projects)
        raise UsageError(
            f"Account {account.name} has several projects ({names}) and none is its default: "
            "give the one to use with connect --project-endpoint URL."
        )
    project, endpoint = (chosen[0][0], chosen[0][1]) if chosen else ("", "")
    # Same subscription, same sign-in: the credential stays (the sandbox's too).
    app.set_connection(
        credential=app.credential,
        account=account.name,
        resource_group=account.resource_group,
        location=account.region,
        project=project,
        project_endpoint=endpoint,
    )
    rows = app.connection_summary()
    using = (
        f"project {project}"
        if project
        else "no project (it has none: custom models and uploads need one)"
    )
    message = (
        f"Connected to account {account.name} ({account.region}, resource group "
        f"{account.resource_group}), {using}."
    )
    return Outcome(message=message + "\n" + aligned_lines(rows), data=rows)
