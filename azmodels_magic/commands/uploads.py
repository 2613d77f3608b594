"""Handlers of upload, delete, update and the uploads commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConflictError
from ..journal import check_uploads_dir
from ..presentation.confirm import confirm
from ..presentation.outcomes import upload_done, upload_steps
from ..presentation.progress import ByteProgress
from ..presentation.tables import uploads_frame
from ..presentation.text import clean
from ..steps import FrontEnd, NextStep
from . import Outcome

if TYPE_CHECKING:
    import argparse

    from ..api import AzModels
    from ..services.uploads import UploadStatus


def upload(app: AzModels, args: argparse.Namespace) -> Outcome:
    tags = dict(args.tags)
    if args.dry_run:
        plan = app.uploads.plan(
            source=args.source, name=args.name, version=args.version, format=args.weights_format,
            overwrite=args.overwrite, tags=tags, base_model=args.base_model,
            follow_symlinks=args.follow_symlinks, weight_type=args.weight_type,
        )  # fmt: skip
        return Outcome(value=plan, message="Dry run: nothing was uploaded or registered.")
    check_uploads_dir()  # before the service is asked for an upload slot
    shown = app.progress and not args.no_progress
    with ByteProgress(f"{args.name} {args.version}", enabled=shown) as bar:
        report = app.uploads.upload(
            source=args.source,
            name=args.name,
            version=args.version,
            format=args.weights_format,
            description=args.description,
            tags=tags,
            overwrite=args.overwrite,
            base_model=args.base_model,
            weight_type=args.weight_type,
            progress=bar if shown else None,
            force=args.force,
            follow_symlinks=args.follow_symlinks,
            lora_rank=args.lora_rank,
            lora_alpha=args.lora_alpha,
            lora_target_modules=args.lora_target_modules,
            lora_dropout=args.lora_dropout,
            publisher=args.publisher,
        )
    return Outcome(
        value=report, message=upload_done(report), next=upload_steps(report), show_value=False
    )


def delete(app: AzModels, args: argparse.Namespace) -> Outcome:
    model = app.models.resolve_custom(args.name, args.version)
    app.models._refuse_if_uploading(model)  # before asking for a confirmation
    using = app.models._deployments_of(model, same_version=True) or []
    if using and not args.force:
        deployed = ", ".join(d.name for d in using)
        raise ConflictError(
            f"'{model.name}' version {model.version} is used by deployment {deployed}: delete "
            "the deployment first, or pass --force to delete the model anyway.",
            code="ModelInUse",
        )

    def run() -> Outcome:
        report = app.models.delete_version(
            model.name, model.version, keep_weights=args.keep_weights
        )
        outcome = Outcome(message=report.summary(), steps=report.steps)
        outcome.render(args.front_end)  # a notebook's confirmation runs this after `execute`
        return outcome

    return confirm(
        expected=model.name,
        what=f"custom model '{model.name}' version {model.version}",
        action=run,
        force=args.force,
        pending=lambda widget, message: Outcome(value=widget, message=message),
        asks=args.front_end.asks,
    )


def update(app: AzModels, args: argparse.Namespace) -> Outcome:
    model = app.models.update(
        args.name,
        args.version,
        description=args.description,
        set_tags=dict(args.set_tag),
        remove_tags=list(args.remove_tag),
    )
    # Tags come back from the service: shown without control sequences.
    tags = clean(", ".join(f"{k}={v}" for k, v in model.user_tags.items()), lines=False) or "none"
    return Outcome(
        value=model,
        message=f"Updated '{model.name}' version {model.version}: tags {tags}.",
        show_value=False,
    )


def uploads_list(app: AzModels, args: argparse.Namespace) -> Outcome:
    rows = app.uploads.status(prefix=args.prefix)
    frame = uploads_frame(rows)
    if len(frame):  # each row's next step, in the front end's words
        frame["hint"] = [_finish(row, args.front_end) for row in rows]
    orphaned = sum(1 for r in rows if r.orphaned)
    partial = sum(1 for r in rows if not r.registered and not r.orphaned)
    message = f"{len(rows)} upload{'s' if len(rows) != 1 else ''} known to this machine"
    notes = []
    if partial:
        notes.append(f"{partial} not registered: re-run the same upload to resume")
    if orphaned:
        notes.append(f"{orphaned} orphaned: {{0}} removes them")
    if notes:
        message += f" ({'; '.join(notes)})"
    steps = (NextStep.of("uploads prune"),) if orphaned else ()
    return Outcome(value=frame, message=message, steps=steps)


def uploads_show(app: AzModels, args: argparse.Namespace) -> Outcome:
    return Outcome(value=app.uploads.status_of(args.upload_path))


def uploads_delete(app: AzModels, args: argparse.Namespace) -> Outcome:
    forgotten = app.uploads.forget(args.upload_path)
    return Outcome(message=forgotten.message, steps=forgotten.steps)


def uploads_prune(app: AzModels, args: argparse.Namespace) -> Outcome:
    report = app.uploads.prune(dry_run=args.dry_run)
    return Outcome(value=report, message=report.summary(), show_value=False)


def _finish(status: UploadStatus, front_end: FrontEnd) -> str:
    """The command that finishes an upload (resume and register, or prune), in the front end's
    syntax: the command alone, so a copied cell runs (the column says what it is)."""
    step = status.next_step
    # the source path is the user's: shown without control sequences
    return clean(front_end.write(step), lines=False) if step else ""
