"""The upload commands: upload, delete, update and the uploads group."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConflictError
from ..presentation.confirm import confirm
from ..presentation.progress import ByteProgress
from ..presentation.tables import uploads_frame
from ..presentation.text import clean
from ..rules import FORMATS, WEIGHT_TYPES, fraction, model_name, positive_int, tag, tag_key, version
from ..steps import FrontEnd, NextStep
from ..uploadstate import check_uploads_dir
from . import Outcome
from .table import Argument, Kind, Output, command, group

if TYPE_CHECKING:
    import argparse

    from ..results.uploads import UploadStatus
    from .app import App


@command(
    "upload", "upload weights (file or folder) and register a custom model",
    Argument("--source", "weights file or model folder, or a remote source copied server "
             "side: hf://ORG/REPO[@REVISION][/SUBFOLDER], an https URL of a file, or of a blob "
             "or container with a SAS", kind=Kind.LOCAL_PATH, required=True, metavar="PATH"),
    Argument("--name", "custom model name", type=model_name, required=True, metavar="NAME",
             positional=True),
    Argument("--format", "expected weights format (checked against the bytes)",
             choices=FORMATS, dest="weights_format"),
    Argument("--description", "free text", default=""),
    Argument("--tags", "tags", type=tag, nargs="+", default=[], metavar="K=V"),
    Argument("--version", "version (default 1)", type=version, default="1"),
    Argument("--overwrite", "replace an existing version", action="store_true"),
    Argument("--no-progress", "no progress bar", action="store_true"),
    Argument("--dry-run", "show the plan, change nothing", action="store_true"),
    Argument("--base-model", "the base model these weights derive from: a catalog name or an "
             "azureml://registries/... id (required unless --weight-type DraftModel)",
             kind=Kind.BASE_MODEL, metavar="M"),
    Argument("--weight-type", choices=WEIGHT_TYPES, default="FullWeight"),
    Argument("--lora-rank", "LoRA rank (r)", type=positive_int, metavar="N"),
    Argument("--lora-alpha", "LoRA alpha", type=positive_int, metavar="N"),
    Argument("--lora-target-modules", "modules the LoRA adapts", nargs="+", metavar="M"),
    Argument("--lora-dropout", "LoRA dropout, 0 to 1", type=fraction, metavar="F"),
    Argument("--publisher", "publisher id (catalogInfo.publisherId)", metavar="P"),
    Argument("--force", "replace a version a deployment uses", action="store_true"),
    Argument("--follow-symlinks", "upload what links leading outside the folder point at, "
             "and symlinked folders", action="store_true"),
    Argument("--verify", "read the stored bytes back through SHA-256 and record the computed "
             "digest (a remote source's is otherwise the one it declares)", action="store_true"),
    output=Output.STORE,
)  # fmt: skip
def upload(app: App, args: argparse.Namespace) -> Outcome:
    from ..presentation.outcomes import upload_done, upload_steps  # lazy: loads the services

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
            verify=args.verify,
        )
    return Outcome(
        value=report, message=upload_done(report), next=upload_steps(report), show_value=False
    )


@command(
    "delete", "delete a custom model version (and its weights)",
    Argument("--name", "custom model name", kind=Kind.CUSTOM_MODEL, required=True,
             metavar="NAME", positional=True),
    Argument("--version", "version (default: the only or latest one)", kind=Kind.VERSION,
             type=version),
    Argument("--keep-weights", "keep the uploaded blobs", action="store_true"),
    Argument("--force", "do not ask for confirmation", action="store_true"),
)  # fmt: skip
def delete(app: App, args: argparse.Namespace) -> Outcome:
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


@command(
    "update", "change a custom model's description or tags",
    Argument("--name", "custom model name", kind=Kind.CUSTOM_MODEL, type=model_name,
             required=True, metavar="NAME", positional=True),
    Argument("--version", kind=Kind.VERSION, type=version, required=True),
    Argument("--description", "new description"),
    Argument("--set-tag", type=tag, nargs="+", default=[], metavar="K=V"),
    Argument("--remove-tag", type=tag_key, nargs="+", default=[], metavar="K"),
    output=Output.STORE,
)  # fmt: skip
def update(app: App, args: argparse.Namespace) -> Outcome:
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


group("uploads", "uploads known to this machine (resumable ones too)")
# The upload's name/version, as `--path` or as a bare word (its dest is not `path`, which is the
# parsed command's words).
_UPLOAD_PATH = Argument(
    "--path", "name/version, e.g. my-model/1", kind=Kind.UPLOAD_PATH, dest="upload_path",
    required=True, metavar="NAME/VERSION", positional=True,
)  # fmt: skip


@command(
    "uploads list", "uploads in this machine's journal, merged with the registry",
    Argument("--prefix", "only names starting with P", metavar="P"),
    output=Output.FORMAT,
)  # fmt: skip
def uploads_list(app: App, args: argparse.Namespace) -> Outcome:
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


@command("uploads show", "one upload", _UPLOAD_PATH, output=Output.FORMAT)
def uploads_show(app: App, args: argparse.Namespace) -> Outcome:
    return Outcome(value=app.uploads.status_of(args.upload_path))


@command("uploads delete", "forget a stale upload and remove its staged blobs", _UPLOAD_PATH)
def uploads_delete(app: App, args: argparse.Namespace) -> Outcome:
    forgotten = app.uploads.forget(args.upload_path)
    return Outcome(message=forgotten.message, steps=forgotten.steps)


@command(
    "uploads prune",
    "remove orphaned storage: slots never registered, replaced versions' weights",
    Argument("--dry-run", "list what would be removed; change nothing", action="store_true"),
    description="Remove the storage this machine's upload journals know nothing uses any more "
    "(`uploads list` shows it as orphaned). Only what this machine's journals know of can be "
    "found: Azure gives no listing of a project's storage. Removing needs the upload slot's "
    "credential; what cannot be removed is listed as left, with why.",
)  # fmt: skip
def uploads_prune(app: App, args: argparse.Namespace) -> Outcome:
    report = app.uploads.prune(dry_run=args.dry_run)
    return Outcome(value=report, message=report.summary(), show_value=False)


def _finish(status: UploadStatus, front_end: FrontEnd) -> str:
    """The command that finishes an upload (resume and register, or prune), in the front end's
    syntax: the command alone, so a copied cell runs (the column says what it is)."""
    step = status.next_step
    # the source path is the user's: shown without control sequences
    return clean(front_end.write(step), lines=False) if step else ""
