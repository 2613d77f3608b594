"""UploadService: weights from disk to a registered custom model, resumable and verified.

One path, in this order, and the order is what keeps the promises: plan (inspect locally,
format from the bytes; the name is free; the registry and this machine's journal read once) ->
slot (an upload slot from the service) -> transfer (every byte, journaled; each committed blob
records its SHA-256 and size as metadata, so nothing but the user's files is stored) -> verify
(storage holds each file as sent) -> register -> wait. Registration happens only after every
byte is committed and verified, so a registry entry never points at partial weights, and a
failure keeps the journal for a re-run.

Replacing a version (--overwrite) keeps a registered version at every instant, even through a
kill -9. The service gives no upload slot for an existing version, so the new weights go to a
slot asked for under a staging version, while the old registration stays. Only once every new
byte is committed and verified does the swap happen: a ReplaceIntent (uploadstate) is written
first, then the old registration is deleted and the new one registered. A process that dies
inside that short window leaves the note, and the next command, any command, finishes the swap
or puts the old registration back (`UploadService.recover`, crash recovery's one entry point).

One process at a time per upload (UploadLock): a second upload of the same name and version on
this machine is refused before it asks for a slot, so it leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import rules
from ..clients.blob import (
    MAX_BLOCK_SIZE,
    MAX_BLOCKS,
    MIB,
    BlobTransfer,
    UploadResult,
    block_sizes_for,
    file_blocks,
    file_sha256,
)
from ..clients.copy import SOURCE_CHANGED
from ..clients.storage import delete_blobs, stored_files
from ..errors import (
    AzModelsError,
    ConflictError,
    NotFoundError,
    OperationFailedError,
    UploadError,
    UsageError,
    ValidationError,
)
from ..http.operation import poll_until
from ..records import META_PREFIX, CustomModel
from ..redaction import get_logger, strip_query
from ..results.uploads import (
    Forgotten,
    Pruned,
    PruneReport,
    UploadPlan,
    UploadReport,
    UploadStatus,
)
from ..sizes import human_size
from ..sources.local import LocalSource
from ..sources.remote import remote_source
from ..steps import NextStep
from ..uploadstate import Leftover, ReplaceIntent, UploadJournal, UploadLock, same_location
from ..uploadstate.keys import key_for
from ..uploadstate.lock import busy_error
from ..weights import inspect_source
from ..wording import escaped
from .copying import COMPUTED, DECLARED, copied_files, copy_transfer, verify_stored

if TYPE_CHECKING:
    from ..connection import Connection
    from ..progress_protocol import TransferProgress
    from ..sources import Source, SourceFile
    from ..weights import WeightsInfo
    from .models import ModelService

_DETAIL_TAGS = ("architecture", "architectures", "parameter_count", "quantization", "dtypes",
                "tensor_count", "model_type", "context_length", "opset")  # fmt: skip


def _left(item: Pruned, why: str) -> Pruned:
    return Pruned(item.path, item.blob_uri, item.reason, removed=False, why_left=why)


def _removed(item: Pruned) -> Pruned:
    return Pruned(item.path, item.blob_uri, item.reason, removed=True)


def open_source(
    source: str | os.PathLike[str],
    *,
    follow_symlinks: bool,
    connection: Connection | None = None,
) -> Source:
    """The source an upload's `source` names, its files listed and checked before any slot is
    asked for: a remote one (`hf://...`, an https URL of a file, a blob or a container: see
    `sources.remote`) when the text says so, else a local file or folder. Remote file names pass
    the same check local ones do (`rules.blob_name_problem`)."""
    if isinstance(source, str):
        settings = connection.transport if connection is not None else None
        credential = _StorageCredential(connection) if connection is not None else None
        remote = remote_source(source.strip(), settings=settings, credential=credential)
        if remote is not None:
            files = remote.files()
            # Over what one blob holds: refused from the listing, before a header is read.
            _check_blob_sizes(files, MAX_BLOCK_SIZE)
            for file in files:
                why = rules.blob_name_problem(file.relative)
                if why:
                    raise ValidationError(
                        f"The file name '{escaped(file.relative)}' in {remote.display} {why}: it "
                        "cannot be stored under that name; nothing was copied."
                    )
            return remote
    local = LocalSource(source, follow_symlinks=follow_symlinks)
    local.files()  # names and links checked here: no slot is asked for a refused folder
    return local


class _StorageCredential:
    """The user's Entra credential for a blob source without a SAS, made only when storage asks
    for a token (most sources never do)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get_token(self, *scopes: str, **options: Any) -> Any:
        return self._connection.tokens.credential().get_token(*scopes, **options)


def source_spec(source: Source) -> str:
    """How the journal (and the command that resumes) names `source`: a hub's revision pinned
    to the commit it was listed at, so a resume copies the same files; never a secret."""
    commit = getattr(source, "commit", None)
    if source.kind == "hub" and commit:
        return str(replace(source.spec, revision=commit))
    return source.display


def _project_prefix(connection: Connection) -> str:
    """What every journal key of the project `connection` reaches starts with."""
    return key_for(connection, "", "")[:-1]  # "<project>|"


def _add_hint(
    error: AzModelsError, note: str, steps: tuple[NextStep, ...] = (), *, first: bool = False
) -> None:
    """Add one sentence to `error`'s hint (before what is there, with `first`); the note's
    `{0}`, `{1}`... name `steps`, renumbered after the steps the error already names."""
    if not note:
        return
    shift = len(error.steps)
    for index in reversed(range(len(steps))):
        note = note.replace("{" + str(index) + "}", "{" + str(index + shift) + "}")
    error.steps = (*error.steps, *steps)
    parts = [note, error.hint] if first else [error.hint, note]
    error.hint = " ".join(p for p in parts if p)


def staging_version(version: str) -> str:
    """The version an upload slot is asked for when `version` exists and is being replaced."""
    return "azmodels-next-" + hashlib.sha256(version.encode()).hexdigest()[:12]


def registration_body(model: CustomModel) -> dict[str, Any]:
    """The createAsync body that registers `model` again as it is (weights, type, text, tags)."""
    body: dict[str, Any] = {
        "blobUri": model.blob_uri,
        "weightType": model.weight_type or "FullWeight",
        "description": model.description,
        "tags": dict(model.tags),
    }
    return with_registration_fields(
        body, base_model=model.base_model or None, lora=model.lora_config or None,
        publisher=model.publisher_id or None,
    )  # fmt: skip


def with_registration_fields(
    body: dict[str, Any], *, base_model: str | None, lora: dict | None, publisher: str | None
) -> dict[str, Any]:
    """`body` with the base model, LoRA settings and publisher, in both shapes seen: the spec
    and SDK 2.10's top-level `baseModel`, and azd's `derivedModelInformation.baseModel` and
    `catalogInfo.publisherId` (EVIDENCE.md §1), so either service shape reads them."""
    if base_model:
        body["baseModel"] = base_model
        body["derivedModelInformation"] = {"baseModel": base_model}
    if lora:
        body["loraConfig"] = dict(lora)
    if publisher:
        body["catalogInfo"] = {"publisherId": publisher}
    return body


def adapter_lora(source: str) -> dict | None:
    """loraConfig from a PEFT `adapter_config.json` in the source folder (`r`, `lora_alpha`,
    `target_modules`, `lora_dropout`), or None when there is none. The spec says the service
    may fill it from that file too; sending it says what we read."""
    path = Path(source) / "adapter_config.json"
    if not path.is_file():
        return None
    if path.stat().st_size > 1 << 20:  # PEFT writes a few hundred bytes
        raise ValidationError(
            f"{path} is over 1 MiB, not a PEFT adapter config: fix it or pass the --lora-* flags."
        )
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # RecursionError: nested too deep to read
        raise ValidationError(
            f"{path} is not valid JSON: fix it or pass the --lora-* flags."
        ) from None
    if not isinstance(config, dict):
        return None
    modules = config.get("target_modules")
    lora = {
        "rank": config.get("r"),
        "alpha": config.get("lora_alpha"),
        # PEFT also allows one regex as text: that is not a list of module names.
        "targetModules": modules if isinstance(modules, list) else None,
        "dropout": config.get("lora_dropout"),
    }
    try:
        return rules.check_lora({k: v for k, v in lora.items() if v is not None})
    except ValidationError as exc:
        raise ValidationError(f"{path}: {exc.message}") from None


def tree_digest(digests: dict[str, str]) -> str:
    """One SHA-256 for a set of files: of the sorted 'path sha256' lines (sha256sum's format)."""
    if len(digests) == 1:
        return next(iter(digests.values()))
    lines = "".join(f"{sha}  {path}\n" for path, sha in sorted(digests.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def _check_blob_sizes(files: tuple[SourceFile, ...], block_size: int) -> None:
    """Refuse a file larger than one block blob can hold (50,000 blocks of 4,000 MiB)."""
    for file in files:
        try:
            file_blocks(file.size, block_size)
        except UploadError:
            raise ValidationError(
                f"{escaped(file.relative)} is {human_size(file.size)}: larger than one blob can "
                f"hold ({MAX_BLOCKS:,} blocks of {MAX_BLOCK_SIZE // MIB:,} MiB, "
                f"{human_size(MAX_BLOCKS * MAX_BLOCK_SIZE)}). Split it into smaller files, "
                "then upload again; nothing was sent."
            ) from None


def _difference(journal: UploadJournal, info: WeightsInfo) -> str | None:
    """What tells the files a finished journal stored from `info`'s files (names, sizes, then
    the SHA-256 of the bytes now, read through the source, against the one recorded at
    commit); None when they are the same."""
    stored = {f.relative: f for f in journal.files}
    current = {f.relative: f for f in info.files}
    if extra := sorted(current.keys() - stored.keys()):
        return f"{escaped(extra[0])} was not among them"
    if missing := sorted(stored.keys() - current.keys()):
        return f"{escaped(missing[0])} is not among these"
    for relative, file in sorted(current.items()):
        if file.size != stored[relative].size:
            return f"{escaped(relative)} has another size"
    for relative, file in sorted(current.items()):
        recorded = stored[relative].sha256
        if info.source.copy_url(file) is not None:
            # Copied server side: never read whole here; what it declares (or its ETag) says.
            declared = file.declared_sha256 is not None and file.declared_sha256 == recorded
            if not declared and (file.version is None or file.version != stored[relative].version):
                return f"{escaped(relative)} holds other bytes"
        elif recorded is None or file_sha256(info.source, file) != recorded:
            return f"{escaped(relative)} holds other bytes"
    return None


@dataclass
class _Prepared:
    """Everything the checks learned, fetched once and handed down the path."""

    plan: UploadPlan
    key: str
    transfer: BlobTransfer
    journal: UploadJournal | None  # this machine's journal of the upload, as loaded
    resumable: bool  # the journal is of these very files (checked once: `matches`)
    existing: CustomModel | None  # the registered version, when there is one
    finished: CustomModel | None = None  # registered by an earlier run that died before noting it
    base_model: str | None = None  # as given (the journal keeps it for the resuming command)
    weight_type: str = "FullWeight"


@rules.checked_arguments  # the Python API calls these: typed arguments, one clear line
class UploadService:
    """Upload, register and track custom-model weights (`az.uploads`).

    One path, in this order: plan (local checks, the registry asked once) -> slot -> transfer
    (journaled) -> verify (storage holds each file as sent) -> register (or swap). An
    interrupted upload resumes when run again; a model is never registered over incomplete
    weights. Every method checks its arguments' types first (a ValidationError); a call that
    reaches Azure may raise AuthenticationError, PermissionDeniedError or ServiceError.
    """

    def __init__(
        self,
        connection: Connection,
        models: ModelService,
        *,
        block_size: int | None = None,
        workers: int | None = None,
    ) -> None:
        self.connection = connection
        self.models = models
        self.block_size = block_size
        self.workers = workers

    def key(self, name: str, version: str) -> str:
        """The key this machine's journal and lock of an upload go by.

        Args:
            name: the model's name.
            version: its version.

        Returns:
            The key: the project, the name and the version.

        Example:
            >>> az.uploads.key("my-llama", "1")
        """
        return key_for(self.connection, name, version)

    # -- plan -----------------------------------------------------------------------------------

    def plan(
        self,
        *,
        source: str | os.PathLike[str],
        name: str,
        version: str = "1",
        format: str | None = None,
        overwrite: bool = False,
        tags: dict[str, str] | None = None,
        base_model: str | None = None,
        follow_symlinks: bool = False,
        weight_type: str = "FullWeight",
    ) -> UploadPlan:
        """Check everything that can be checked and say what an upload would do, sending
        nothing (what `upload --dry-run` shows). The arguments are `upload`'s.

        Args:
            source: the weights: a file or a folder.
            name: the custom model's name.
            version: its version.
            format: safetensors, gguf, onnx or pytorch (default: read from the bytes).
            overwrite: replace the version if it exists.
            tags: tags to register it with, key -> value.
            base_model: the catalog model it is a fine-tune of.
            follow_symlinks: upload what links in the folder point at (default: refuse them).
            weight_type: FullWeight, LoRA or DraftModel.

        Returns:
            An UploadPlan: the files, sizes, format and what the weights declare, the target
            and whether a journal lets it resume.

        Raises:
            ValidationError: a bad name, version, tag or format, or a source that is not
                weights.
            ConflictError: the name is a base model's, or the version exists and `overwrite`
                is not set.

        Example:
            >>> az.uploads.plan(source="./out", name="my-llama", base_model="Llama-3.3-70B")
        """
        return self._prepare(
            source=source, name=name, version=str(version), format=format, overwrite=overwrite,
            tags=tags, base_model=base_model, follow_symlinks=follow_symlinks, running=False,
            weight_type=weight_type,
        ).plan  # fmt: skip

    def _prepare(
        self,
        *,
        source: str,
        name: str,
        version: str,
        format: str | None,
        overwrite: bool,
        tags: dict[str, str] | None,
        base_model: str | None,
        follow_symlinks: bool,
        running: bool,
        weight_type: str = "FullWeight",
    ) -> _Prepared:
        """The plan and what it was made of. `running`: for an upload about to run (it may find
        that an earlier run finished), not a dry run."""
        rules.check(rules.model_name, name)
        rules.check(rules.version, version)
        rules.check_tags(tags)
        local = open_source(source, follow_symlinks=follow_symlinks, connection=self.connection)
        info = inspect_source(local, declared_format=format)
        if any(m.name.lower() == name.lower() for m in self.models.catalog()):
            raise ConflictError(
                f"'{name}' is the name of a base model in the catalog: base models cannot be "
                "uploaded over. Choose another --name."
            )
        rules.check_registration(base_model=base_model, weight_type=weight_type)
        key = self.key(name, version)
        existing = self._existing(name, version)
        journal = UploadJournal.load(key)
        finished = None
        if (
            running
            and journal is not None
            and journal.status == "uploaded"
            and existing is not None
            and same_location(existing.blob_uri, journal.container_url)
        ):
            # Every byte committed and registered, the note never written: but only these very
            # files may be answered for by it (another source under the same name is not).
            differs = _difference(journal, info)
            if differs is None:
                finished = existing
            elif not overwrite:
                raise ConflictError(
                    f"'{name}' version {version} is registered from an earlier run's files "
                    f"({escaped(journal.source)}), not these: {differs}. Pass --overwrite to "
                    "replace it with these files, or choose another --version.",
                    code="ModelVersionExists",
                )
        if existing is not None and not overwrite and finished is None:
            raise ConflictError(
                f"Custom model '{name}' version {version} already exists "
                f"({existing.status}). Pass --overwrite to replace it, or choose another "
                "--version.",
                code="ModelVersionExists",
            )
        if base_model and not base_model.startswith("azureml://") and finished is None:
            self._check_base_model(base_model)  # a typo in a bare name, caught before upload
        transfer = BlobTransfer(
            block_size=self.block_size, max_workers=self.workers, settings=self.connection.transport
        )
        fresh = journal is None or journal.status == "registered"  # a finished one: start afresh
        resumable = not fresh and journal.matches(info.files)
        plan = UploadPlan(
            name=name,
            version=version,
            info=info,
            target=f"{self.connection.config.project_endpoint}/models/{name}/versions/{version}",
            block_size=journal.block_size if resumable else transfer.block_size,
            workers=transfer.max_workers,
            replaces=existing is not None,
            links=getattr(local, "links", {}),
            skipped=sorted(getattr(local, "skipped_folders", [])),
        )
        _check_blob_sizes(info.files, plan.block_size)  # before a slot is asked for
        plan.copied = len(copied_files(local, info.files))  # storage copies these itself
        layout = [file_blocks(f.size, plan.block_size) for f in info.files]
        plan.blocks = sum(max(1, count) for _, count in layout)
        plan.largest_block = max([plan.block_size, *(block for block, _ in layout)])
        if existing is not None:
            using = self.models._deployments_of(existing, same_version=True) or []
            plan.in_use = [d.name for d in using]
        if resumable:
            plan.resume_bytes = journal.bytes_staged
        elif not fresh:
            plan.notes.append("the source changed since an interrupted upload: it starts over")
        return _Prepared(plan, key, transfer, journal, resumable, existing, finished,
                         base_model or None, weight_type)  # fmt: skip

    def _existing(self, name: str, version: str) -> CustomModel | None:
        try:
            return self.connection.foundry.get_version(name, version)
        except NotFoundError:
            return None

    # -- upload ---------------------------------------------------------------------------------

    def upload(
        self,
        *,
        source: str | os.PathLike[str],
        name: str,
        version: str = "1",
        format: str | None = None,
        description: str = "",
        tags: dict[str, str] | None = None,
        overwrite: bool = False,
        base_model: str | None = None,
        weight_type: str = "FullWeight",
        progress: TransferProgress | bool | None = None,
        on_status: Callable[[str], None] | None = None,
        force: bool = False,
        follow_symlinks: bool = False,
        lora_rank: int | None = None,
        lora_alpha: int | None = None,
        lora_target_modules: list[str] | None = None,
        lora_dropout: float | None = None,
        publisher: str | None = None,
        verify: bool = False,
    ) -> UploadReport:
        """Upload weights and register them as a custom model version; a run that was
        interrupted resumes from its journal (what `upload` does).

        Args:
            source: the weights: a local file or folder (e.g. a Hugging Face snapshot), or a
                remote source storage copies itself, server side, with no weight byte through
                this machine: `hf://ORG/REPO[@REVISION][/SUBFOLDER]` (a model hub's repository;
                HF_ENDPOINT selects the hub, HF_TOKEN or the hub login opens a gated one), an
                https URL of one file, or of an Azure blob or container with a SAS. A remote
                file's SHA-256 is the one its source declares, recorded as declared.
            name: the custom model's name.
            version: its version.
            format: safetensors, gguf, onnx or pytorch (default: read from the bytes).
            description: its description.
            tags: tags to register it with, key -> value.
            overwrite: replace the version if it exists (a registered version is kept at every
                instant, even through a crash).
            base_model: the catalog model it is a fine-tune of (a name, expanded as azd does,
                or an azureml://registries/... id); required unless `weight_type` is
                DraftModel.
            weight_type: FullWeight, LoRA or DraftModel.
            progress: hears the bytes go (a TransferProgress); None or a bool: nobody does
                (a service draws nothing: the front end that wants a bar passes one).
            on_status: called with the registration's state while the service registers it.
            force: with `overwrite`, replace a version that deployments use (the weights they
                serve change).
            follow_symlinks: upload what links in the folder point at (default: refuse them).
            lora_rank: LoRA's rank (with the other `lora_*` values: the loraConfig; for LoRA
                weights without them, the folder's adapter_config.json is read).
            lora_alpha: LoRA's alpha.
            lora_target_modules: the modules LoRA adapts.
            lora_dropout: LoRA's dropout.
            publisher: the publisher registered with it.
            verify: stream the stored bytes back through SHA-256 and record the computed
                digest (refused when it differs from the one the source declares).

        Returns:
            An UploadReport: the registered model, the plan it followed, bytes sent and
            skipped (resumed).

        Raises:
            ValidationError: a bad name, version, tag, format, weight type or LoRA value, or a
                source that is not weights.
            ConflictError: the name is a base model's, the version exists and `overwrite` is
                not set, deployments use the version being replaced and `force` is not set,
                or the same upload is running in another process.
            UploadError: the transfer failed; the journal is kept, run it again to resume.
            OperationFailedError: the service refused to register the weights.

        Example:
            >>> report = az.uploads.upload(source="./out", name="my-llama", version="2",
            ...                            base_model="Llama-3.3-70B-Instruct")
            >>> report.model.status
            'Succeeded'
        """
        if weight_type not in rules.WEIGHT_TYPES:  # checked before any network call
            raise ValidationError(
                f"'{weight_type}' is not a weight type: use one of {', '.join(rules.WEIGHT_TYPES)}."
            )
        given = {"rank": lora_rank, "alpha": lora_alpha, "targetModules": lora_target_modules,
                 "dropout": lora_dropout}  # fmt: skip
        lora = {k: v for k, v in given.items() if v is not None} or None
        lora = rules.check_lora(lora)
        if publisher is not None and (not isinstance(publisher, str) or not publisher.strip()):
            raise ValidationError("The publisher must be a non-empty name.")
        if lora is None and weight_type == "LoRA":
            lora = adapter_lora(source)
        extra = {"lora": lora, "publisher": publisher.strip() if publisher else None}
        version = str(version)  # the Python API may be given version=2
        key = self.key(name, version)
        self.recover()  # a replacement a killed process left half done comes first
        lock = UploadLock(key, "replace" if overwrite else "upload")
        if not lock.acquire():
            raise self.busy_error(name, version)
        with lock:
            prepared = self._prepare(
                source=source, name=name, version=version, format=format,
                overwrite=overwrite, tags=tags, base_model=base_model,
                follow_symlinks=follow_symlinks, running=True, weight_type=weight_type,
            )  # fmt: skip
            base_id, _ = rules.check_registration(base_model=base_model, weight_type=weight_type)
            return self._run(
                prepared, description=description, tags=tags or {}, base_model=base_id,
                weight_type=weight_type, on_status=on_status, extra=extra,
                progress=None if isinstance(progress, bool) else progress,
                force=force, verify=verify,
            )  # fmt: skip

    def busy_error(self, name: str, version: str) -> ConflictError:
        """The refusal when another process holds the upload of name/version on this machine.

        Args:
            name: the model's name.
            version: its version.

        Returns:
            The ConflictError to raise (naming the process that holds it).

        Example:
            >>> raise az.uploads.busy_error("my-llama", "2")
        """
        return busy_error(self.key(name, version), name, version)

    def _run(
        self,
        prepared: _Prepared,
        *,
        description: str,
        tags: dict[str, str],
        base_model: str | None,
        weight_type: str,
        progress: TransferProgress | None,
        on_status: Callable[[str], None] | None,
        force: bool,
        extra: dict[str, Any],
        verify: bool = False,
    ) -> UploadReport:
        plan = prepared.plan
        name, version = plan.name, plan.version
        if prepared.finished is not None:
            # The last run committed every byte and registered, then died before noting it
            # (perhaps while the registration was still running: see it to its end).
            model = self._until_ready(prepared.finished, on_status)
            prepared.journal.set_status("registered")
            self.models.invalidate()
            return UploadReport(
                model=model,
                plan=plan,
                bytes_sent=0,
                bytes_skipped=plan.info.total_size,
                seconds=0.0,
                sha256={},
            )
        if plan.in_use and not force:
            deployed = ", ".join(plan.in_use)
            raise ConflictError(
                f"'{name}' version {version} is used by deployment {deployed}: replacing it "
                "changes the weights it serves. Pass --force to replace it anyway.",
                code="ModelInUse",
            )
        try:
            slot, journal = self._slot(prepared)
            try:
                result, basis = self._transfer(prepared, slot.sas_url, journal, progress)
            except AzModelsError as exc:
                if exc.code == SOURCE_CHANGED:
                    # What was staged is of the old version: leave nothing of it behind.
                    self._discard(slot.sas_url, journal, exc)
                raise
            digests = {f.relative: f.sha256 for f in result.files}
            self._verify(slot.sas_url, plan, digests, journal)
            if verify:
                digests = verify_stored(
                    slot.sas_url, plan.info.files, digests, self.connection.transport
                )
                basis = dict.fromkeys(digests, COMPUTED)
        except AzModelsError as exc:
            if plan.replaces:  # nothing was swapped yet: say so
                note = f"The registered version {version} is unchanged."
                exc.hint = f"{exc.hint} {note}" if exc.hint else note
            raise
        body = self._register_body(
            plan, slot.blob_uri, digests, description=description, tags=tags,
            base_model=base_model, weight_type=weight_type, basis=basis, **extra,
        )  # fmt: skip
        try:
            if plan.replaces:
                model = self._swap(prepared, body, on_status)
            else:
                model = self._register(plan, body, on_status)
        except ConflictError as exc:
            if exc.code != "RegisteredByAnother":
                raise
            # Lost a race with an upload elsewhere: leave nothing of this one behind.
            self._discard(slot.sas_url, journal, exc)
            raise
        journal.set_status("registered")
        self.models.invalidate()
        return UploadReport(
            model=model,
            plan=plan,
            bytes_sent=result.bytes_sent,
            bytes_skipped=result.bytes_skipped,
            seconds=result.seconds,
            sha256={k: v for k, v in digests.items() if v},
            sha256_declared=sorted(k for k, v in basis.items() if v == DECLARED),
        )

    def _slot(self, prepared: _Prepared) -> tuple[Any, UploadJournal]:
        """The upload slot the weights go to, and the journal of the transfer into it (the
        loaded one when it can resume, else a new one)."""
        plan, journal = prepared.plan, prepared.journal
        name, version = plan.name, plan.version
        usable = (
            prepared.resumable
            # the model's own version has no slot while it exists
            and not (plan.replaces and journal.slot_version == version)
        )
        if journal is not None and not usable:
            existing = prepared.existing
            if existing is None or not same_location(existing.blob_uri, journal.container_url):
                # Its slot is given up for a new one: its storage would be lost to `prune`.
                Leftover.record(
                    prepared.key, name=journal.name, version=journal.version,
                    container_url=journal.container_url, slot_version=journal.slot_version,
                    pending_upload_id=journal.pending_upload_id,
                    reason="an earlier upload's slot, given up for other files",
                )  # fmt: skip
            journal.delete()  # stale, or for other bytes: never mix
            journal = None
        slot_version = journal.slot_version if journal else version
        if journal is None and plan.replaces:
            slot_version = staging_version(version)  # the old version stays registered
        slot = self.connection.foundry.start_pending_upload(
            name, slot_version, pending_upload_id=journal.pending_upload_id if journal else None
        )
        if journal is not None and not same_location(journal.container_url, slot.blob_uri):
            journal.delete()  # the service gave a new place: the old blocks are not there
            journal = None
        if journal is not None:
            journal.container_url = slot.blob_uri  # its address today (a port may have moved)
            return slot, journal
        journal = UploadJournal.create(
            prepared.key,
            name=name,
            version=version,
            source=source_spec(plan.info.source),
            pending_upload_id=slot.pending_upload_id,
            container_url=slot.blob_uri,
            block_size=plan.block_size,
            files=plan.info.files,
            block_sizes=block_sizes_for(plan.info.files, plan.block_size),
            slot_version=slot_version,
            base_model=prepared.base_model,
            weight_type=prepared.weight_type,
        )
        return slot, journal

    @staticmethod
    def _transfer(
        prepared: _Prepared,
        sas_url: str,
        journal: UploadJournal,
        progress: TransferProgress | None,
    ) -> tuple[UploadResult, dict[str, str]]:
        """Every byte into the slot; each committed blob records its size and SHA-256 (with
        how it is known). The digest basis of each file: "computed" as it was sent, "declared"
        by a remote source storage copied it from (services.copying), "" when nobody said."""
        plan = prepared.plan
        if plan.copied:
            return copy_transfer(
                plan.info.source, plan.info.files, sas_url, transfer=prepared.transfer,
                block_size=plan.block_size, journal=journal, progress=progress,
            )  # fmt: skip
        result = prepared.transfer.upload(
            sas_url,
            plan.info.source,
            plan.info.files,
            journal=journal,
            on_start=progress.start if progress else None,
            on_skip=progress.skip if progress else None,
            on_progress=progress.update if progress else None,
        )
        return result, {f.relative: COMPUTED for f in result.files}

    def _verify(
        self, sas_url: str, plan: UploadPlan, digests: dict[str, str], journal: UploadJournal
    ) -> None:
        """Storage holds every file as it was sent (size and SHA-256 in its metadata), read
        back in one listing before anything is registered. A file that is not is sent again by
        the next run."""
        stored = {f.path: f for f in stored_files(sas_url, self.connection.transport)}
        wrong = [
            f.relative
            for f in plan.info.files
            if (held := stored.get(f.relative)) is None
            or held.size != f.size
            or (held.sha256 or "") != digests[f.relative]
        ]
        if not wrong:
            return
        for relative in wrong:
            journal.reset_file(relative)
        journal.set_status("uploading")
        more = f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""
        raise UploadError(
            f"Storage does not hold {escaped(wrong[0])}{more} as it was sent: nothing was "
            "registered. Run the same upload again: it sends only what is missing."
        )

    def _swap(
        self,
        prepared: _Prepared,
        body: dict[str, Any],
        on_status: Callable[[str], None] | None,
    ) -> CustomModel:
        """Replace the registered version by the new weights (already stored and verified)."""
        plan = prepared.plan
        name, version = plan.name, plan.version
        old = prepared.existing
        foundry = self.connection.foundry
        current = self._existing(name, version)
        if current is None:  # deleted while the weights went up: nothing left to replace
            return self._register(plan, body, on_status)
        if not same_location(current.blob_uri, old.blob_uri):
            # Replaced elsewhere while these weights went up: deleting it would throw away a
            # registration this run never saw.
            raise ConflictError(
                f"'{name}' version {version} was replaced by another upload while this one ran: "
                f"it is registered now on their weights ({strip_query(current.blob_uri)}), not "
                "this run's. Run the upload again with --overwrite to replace those.",
                code="RegisteredByAnother",
            )
        try:
            # Storage access to the old weights can only be had while they are registered; the
            # answer also says whether it still is.
            old_weights = foundry.read_credential(name, version, old.blob_uri)
        except NotFoundError:  # deleted meanwhile: nothing left to replace
            return self._register(plan, body, on_status)
        intent = ReplaceIntent.create(
            prepared.key, name=name, version=version, old=registration_body(old), new=body
        )
        foundry.delete_version(name, version)
        self.models.invalidate()
        try:
            model = self._register(plan, body, on_status)
        except BaseException as exc:
            if self._restore(old, exc, body["blobUri"]):
                intent.delete()
                if isinstance(exc, ConflictError) and exc.code == "RegisteredByAnother":
                    # Our delete took the old registration away; the winner never saw it.
                    _add_hint(
                        exc,
                        self._remove_old_weights(prepared, old_weights.sas_url),
                        (NextStep.of("uploads list"),),
                    )
            raise
        intent.delete()
        if not same_location(old.blob_uri, body["blobUri"]):
            self._remove_old_weights(prepared, old_weights.sas_url)
        return model

    def _discard(self, sas_url: str, journal: UploadJournal, failure: AzModelsError) -> None:
        """Remove what this upload staged and its journal; `failure`'s hint says how it went."""
        try:
            delete_blobs(sas_url, self.connection.transport)
        except AzModelsError as exc:
            path = f"{journal.name}/{journal.version}"
            _add_hint(
                failure,
                f"The weights this run staged could not be removed ({exc.message}): {{0}} "
                "removes them.",
                (NextStep.of("uploads delete", path=path),),
                first=True,
            )
            return
        journal.delete()
        _add_hint(failure, "The weights this run staged were removed.", first=True)

    # -- replacements interrupted by a crash ----------------------------------------------------

    def recover(self, name: str | None = None) -> list[str]:
        """Crash recovery, its one entry point: finish, or roll back, the replacements
        (`upload --overwrite`) a killed process left between deleting the old registration and
        registering the new one (see ReplaceIntent), in this project; of model `name` only,
        when given. Every command runs it first.

        Costs one directory listing when nothing is pending. Never raises for what cannot be
        done now (the service unreachable, the cache folder unreadable): a warning says so and
        the next command tries again. Replacements whose upload still runs are left alone (it
        finishes its swap itself).

        Args:
            name: only replacements of this model (default: all of the project's).

        Returns:
            One sentence per replacement dealt with; [] when none was.

        Example:
            >>> az.uploads.recover()
            []
        """
        done: list[str] = []
        try:
            intents = ReplaceIntent.list_all()
            if not intents:
                return done
            prefix = _project_prefix(self.connection)
            for intent in intents:
                if not intent.key.startswith(prefix) or name not in (None, intent.name):
                    continue
                lock = UploadLock(intent.key, "recover")
                if not lock.acquire():
                    continue  # its upload is still running: it finishes the swap itself
                with lock:
                    try:
                        done.append(self._recover_one(intent))
                    except AzModelsError as exc:
                        get_logger(__name__).warning(
                            "The interrupted replacement of '%s' version %s is still pending: %s",
                            intent.name, intent.version, exc,
                        )  # fmt: skip
        except (AzModelsError, OSError) as exc:  # the cache folder unusable: the next command
            get_logger(__name__).warning("An interrupted replacement is still pending: %s", exc)
        return done

    def _recover_one(self, intent) -> str:
        name, version = intent.name, intent.version
        current = self._existing(name, version)
        what = f"'{name}' version {version}"
        if current is not None:
            intent.delete()  # the swap never started, or it finished
            if same_location(current.blob_uri, intent.new["blobUri"]):
                return f"The replacement of {what} had completed."
            return f"The replacement of {what} never started: the version is unchanged."
        context = f"Finish replacing {what}"
        try:
            self._register_and_wait(name, version, intent.new, context)
            note = f"Finished replacing {what} (interrupted): the new weights are registered."
        except ConflictError:
            note = f"{what} was registered again elsewhere."
        except AzModelsError as exc:
            refused = exc.status is not None and exc.status < 500 and exc.status != 429
            if refused or isinstance(exc, OperationFailedError):
                # The new weights are refused: put the replaced registration back.
                self._register_and_wait(name, version, intent.old, f"Restore {what}")
                note = f"Restored {what}: its interrupted replacement could not be finished."
            else:
                raise
        intent.delete()
        self.models.invalidate()
        return note

    def _register_and_wait(
        self, name: str, version: str, body: dict[str, Any], context: str
    ) -> CustomModel:
        return self.connection.foundry.register(name, version, body, context=context)

    def _restore(self, old: CustomModel, failure: BaseException, new_blob_uri: str) -> bool:
        """Register the replaced version again, on its own weights, after a failed swap; True
        when the version is registered afterwards (put back, the new one went through, or
        another upload's: the note says whose weights it holds)."""
        foundry = self.connection.foundry
        settled = True
        try:
            current = self._existing(old.name, old.version)
            if current is not None and same_location(current.blob_uri, new_blob_uri):
                note = "The new version's registration was accepted and continues on the service."
            elif current is not None:
                where = strip_query(current.blob_uri)
                note = (
                    ""
                    if isinstance(failure, AzModelsError) and where in failure.message
                    else f"It is registered now on another upload's weights ({where})."
                )
            else:
                foundry.register(  # waits until the version is registered again
                    old.name,
                    old.version,
                    registration_body(old),
                    context=f"Restore '{old.name}' version {old.version}",
                )
                note = f"The previous version {old.version} was put back as it was."
        except AzModelsError as exc:
            settled = False  # the ReplaceIntent stays: the next command tries again
            note = (
                f"The previous version could not be put back yet ({exc.message}); the next "
                "command tries again."
            )
        self.models.invalidate()
        if isinstance(failure, AzModelsError):
            _add_hint(failure, note)
        return settled

    def _remove_old_weights(self, prepared: _Prepared, read_sas_url: str) -> str:
        """Remove the replaced version's weights; one sentence saying how it went. They are
        noted as leftover storage (`uploads list`, `uploads prune`) when they cannot be."""
        old, journal = prepared.existing, prepared.journal
        where = strip_query(old.blob_uri)
        # This machine's journal of the old upload names its slot: asking for that slot again
        # gives a credential that may write there (the registered version's is read-only).
        ours = journal is not None and same_location(journal.container_url, old.blob_uri)
        slot_version = journal.slot_version if ours else None
        pending_id = journal.pending_upload_id if ours else None
        try:
            sas_url = read_sas_url
            if ours and slot_version != old.version and pending_id:
                sas_url = self.connection.foundry.start_pending_upload(
                    old.name, slot_version, pending_upload_id=pending_id
                ).sas_url
            delete_blobs(sas_url, self.connection.transport)
        except AzModelsError as exc:  # the new model is registered; this is housekeeping
            why = exc.message.rstrip(".")
            Leftover.record(
                prepared.key, name=old.name, version=old.version, container_url=where,
                reason=f"a replaced version's weights ({why})", slot_version=slot_version,
                pending_upload_id=pending_id,
            )  # fmt: skip
            get_logger(__name__).warning("The replaced version's weights remain: %s", exc)
            return (
                f"The replaced version's weights remain at {where} ({why}): {{0}} lists them "
                "as orphaned."
            )
        return "The replaced version's weights were removed."

    def _until_ready(
        self, model: CustomModel, on_status: Callable[[str], None] | None = None
    ) -> CustomModel:
        """Wait for a registration started earlier (whose operation we no longer have)."""
        foundry = self.connection.foundry
        context = f"Register '{model.name}' version {model.version}"

        def finished(model: CustomModel) -> bool:
            if model.provisioning_state in ("Failed", "Canceled"):
                raise OperationFailedError(f"{context} ended {model.provisioning_state}.")
            if not model.ready and on_status:
                on_status(model.provisioning_state)
            return model.ready

        return poll_until(
            lambda: foundry.get_version(model.name, model.version),
            finished,
            first=model,
            interval=lambda _: foundry.plane.poll_interval,
            timeout=foundry.plane.operation_timeout,
            clock=foundry.plane.clock,
            what=context,
        )

    def _check_base_model(self, base_model: str) -> None:
        known = {m.name.lower() for m in self.models.catalog()}
        known |= {m.name.lower() for m in self.models.custom_models()}
        if base_model.lower() not in known:
            raise ValidationError(
                f"--base-model '{base_model}' is neither in the catalog nor a custom model: "
                "check the name with {0}.",
                code="BaseModelNotFound",
                steps=(NextStep.of("list"),),
            )

    def _register_body(
        self,
        plan: UploadPlan,
        blob_uri: str,
        digests: dict[str, str],
        *,
        description: str,
        tags: dict[str, str],
        base_model: str | None,
        weight_type: str,
        lora: dict | None = None,
        publisher: str | None = None,
        basis: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "blobUri": blob_uri,
            "weightType": weight_type,
            "description": description,
            "tags": {**tags, **self._meta_tags(plan, digests, basis)},
        }
        return with_registration_fields(body, base_model=base_model, lora=lora, publisher=publisher)

    def _register(
        self, plan: UploadPlan, body: dict[str, Any], on_status: Callable[[str], None] | None
    ) -> CustomModel:
        foundry = self.connection.foundry
        blob_uri = body["blobUri"]
        context = f"Register '{plan.name}' version {plan.version}"
        try:
            return foundry.register(
                plan.name, plan.version, body, context=context, on_status=on_status
            )
        except ConflictError:
            # A retried or re-run registration: fine if it is ours (same weights), else a clash.
            model = foundry.get_version(plan.name, plan.version)
            if not same_location(model.blob_uri, blob_uri):
                raise ConflictError(
                    f"'{plan.name}' version {plan.version} was registered by another upload "
                    f"while this one ran: it holds their weights ({strip_query(model.blob_uri)}), "
                    "not this run's.",
                    code="RegisteredByAnother",
                ) from None
            return self._until_ready(model, on_status)
        except AzModelsError as exc:
            exc.hint = (
                "The weights are uploaded and kept: run the same upload again to retry the "
                "registration (nothing is sent twice)."
            )
            raise

    @staticmethod
    def _meta_tags(
        plan: UploadPlan, digests: dict[str, str], basis: dict[str, str] | None = None
    ) -> dict[str, str]:
        """The azmodels.* tags. `sha256` only when every file's digest is known, with
        `sha256_basis` saying how: "computed" (from the bytes) or "declared" (by the source, for
        at least one file); never a digest nobody computed or declared."""
        details = plan.info.details
        meta = {
            "format": plan.info.format,
            "size": str(plan.info.total_size),
            "files": str(len(plan.info.files)),
        }
        if digests and all(digests.values()):
            meta["sha256"] = tree_digest(digests)
            if basis is not None:
                meta["sha256_basis"] = DECLARED if DECLARED in basis.values() else COMPUTED
        for key in _DETAIL_TAGS:
            value = details.get(key)
            if value in (None, "", [], {}):
                continue
            text = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
            meta[key] = text[:256]
        return {META_PREFIX + k: v for k, v in meta.items()}

    # -- uploads known to this machine ----------------------------------------------------------

    def journals(self, prefix: str | None = None) -> list[UploadJournal]:
        """This machine's upload journals of the connected project.

        Args:
            prefix: only those of models whose name starts with this (any case).

        Returns:
            The journals: files, blocks sent, state.

        Example:
            >>> [(j.name, j.version, j.status) for j in az.uploads.journals()]
        """

        project = _project_prefix(self.connection)
        found = [j for j in UploadJournal.list_all() if j.key.startswith(project)]
        if prefix:
            found = [j for j in found if j.name.lower().startswith(prefix.lower())]
        return found

    def find_journal(self, path: str) -> UploadJournal:
        """One upload journal of this machine.

        Args:
            path: 'name/version', 'name' (when it has one upload) or the source path.

        Returns:
            The journal.

        Raises:
            NotFoundError: no upload known to this machine matches.
            UsageError: several match: give name/version.

        Example:
            >>> az.uploads.find_journal("my-llama/2").bytes_staged
        """
        matches = [
            j for j in self.journals()
            if path in (f"{j.name}/{j.version}", j.name, j.source)
        ]  # fmt: skip
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise NotFoundError(
                f"No upload '{path}' is known to this machine: {{0}} shows them (give "
                "name/version).",
                steps=(NextStep.of("uploads list"),),
            )
        raise UsageError(
            f"'{path}' matches {len(matches)} uploads: give name/version, one of "
            + ", ".join(f"{j.name}/{j.version}" for j in matches)
        )

    def _status(self, journal: UploadJournal) -> UploadStatus:
        registered = journal.status == "registered"
        existing = self._existing(journal.name, journal.version)
        orphaned = ""
        if existing is None or not same_location(existing.blob_uri, journal.container_url):
            if existing is not None and registered:
                orphaned = "its version was replaced by other weights"
            elif existing is not None and journal.slot_version == journal.version:
                # A slot of the version itself: the service gives none while it exists, so
                # no upload can resume into it.
                orphaned = "its version was registered from other storage"
            registered = False
        elif not registered:
            registered = True  # registered by a run that died before noting it
        return UploadStatus(
            orphaned=orphaned,
            name=journal.name,
            version=journal.version,
            source=journal.source,
            size=journal.bytes_total,
            bytes_done=journal.bytes_staged,
            files=len(journal.files),
            complete=journal.complete,
            registered=registered,
            updated=journal.updated,
            blob_uri=journal.container_url,
            replaces=journal.slot_version != journal.version,
            base_model=journal.base_model,
            weight_type=journal.weight_type,
        )

    def status(self, *, prefix: str | None = None) -> list[UploadStatus]:
        """This machine's uploads, with what the registry says of each, then the orphaned
        storage it knows of (what `uploads list` shows).

        Args:
            prefix: only those of models whose name starts with this (any case).

        Returns:
            One UploadStatus each: progress, whether complete, registered or orphaned.

        Example:
            >>> [(u.path, u.registered) for u in az.uploads.status()]
        """
        found = [self._status(j) for j in self.journals(prefix)]
        return found + [self._leftover_status(n) for n in self._leftovers(prefix)]

    def _leftovers(self, prefix: str | None = None) -> list[Leftover]:
        project = _project_prefix(self.connection)
        found = [n for n in Leftover.list_all() if n.key.startswith(project)]
        if prefix:
            found = [n for n in found if n.name.lower().startswith(prefix.lower())]
        return found

    @staticmethod
    def _leftover_status(note: Leftover) -> UploadStatus:
        return UploadStatus(
            name=note.name, version=note.version, source="", size=0, bytes_done=0, files=0,
            complete=False, registered=False, updated=note.created, blob_uri=note.container_url,
            orphaned=note.reason,
        )  # fmt: skip

    # -- orphaned storage -----------------------------------------------------------------------

    def prune(self, *, dry_run: bool = False) -> PruneReport:
        """Remove the orphaned storage this machine's journals and notes know of (Azure lists
        no project's storage, so nothing else can be found). Removing needs a credential that
        may write: the upload slot's, asked for again; a registered version's is read-only.
        What cannot be removed is listed as left, with why; nothing is reported removed that
        storage still holds.

        Args:
            dry_run: only say what would be removed.

        Returns:
            A PruneReport: each item, removed or left (with why).

        Example:
            >>> az.uploads.prune(dry_run=True).items
        """
        report = PruneReport(dry_run=dry_run)
        for journal in self.journals():
            state = self._status(journal)
            if not state.orphaned:
                continue
            item = Pruned(state.path, journal.container_url, state.orphaned)
            if dry_run:
                report.items.append(item)
                continue
            lock = UploadLock(journal.key, "prune")
            if not lock.acquire():
                report.items.append(_left(item, "its upload is running on this machine"))
                continue
            with lock:
                why = self._free(journal.name, journal.slot_version, journal.pending_upload_id,
                                 journal.container_url)  # fmt: skip
                if not why:
                    journal.delete()
            report.items.append(_left(item, why) if why else _removed(item))
        for note in self._leftovers():
            item = Pruned(f"{note.name}/{note.version}", note.container_url, note.reason)
            if dry_run:
                report.items.append(item)
                continue
            current = self._existing(note.name, note.version)
            if current is not None and same_location(current.blob_uri, note.container_url):
                note.delete()  # registered again (put back): not orphaned, never removed
                continue
            why = self._free(note.name, note.slot_version, note.pending_upload_id,
                             note.container_url)  # fmt: skip
            if not why:
                note.delete()
            report.items.append(_left(item, why) if why else _removed(item))
        return report

    def _free(
        self, name: str, slot_version: str | None, pending_id: str | None, container: str
    ) -> str:
        """Empty the container of an upload slot; "" when storage holds none of its bytes
        afterwards, else why not."""
        if not slot_version or not pending_id:
            return (
                "no credential may remove it: the service gives read-only access to a model's "
                "weights; remove the container in the storage account"
            )
        try:
            slot = self.connection.foundry.start_pending_upload(
                name, slot_version, pending_upload_id=pending_id
            )
        except AzModelsError as exc:
            return f"the service no longer gives its upload slot ({exc.message.rstrip('.')})"
        if not same_location(slot.blob_uri, container):
            return "the service no longer gives its upload slot (it answered with a new one)"
        try:
            delete_blobs(slot.sas_url, self.connection.transport)
            held = sum(f.size for f in stored_files(slot.sas_url, self.connection.transport))
        except AzModelsError as exc:
            return exc.message.rstrip(".")
        return f"storage still holds {human_size(held)} there" if held else ""

    def status_of(self, path: str) -> UploadStatus:
        """One upload of this machine, with what the registry says of it (what
        `uploads show` shows).

        Args:
            path: 'name/version', 'name' (when it has one upload) or the source path.

        Returns:
            Its UploadStatus.

        Raises:
            NotFoundError: no upload known to this machine matches.
            UsageError: several match: give name/version.

        Example:
            >>> az.uploads.status_of("my-llama/2").complete
            True
        """
        return self._status(self.find_journal(path))

    def forget(self, path: str) -> Forgotten:
        """Remove an upload's journal and, unless a model uses them, its staged blobs. Refused
        while the upload runs (in another process): its lock says so.

        Args:
            path: 'name/version', 'name' (when it has one upload) or the source path.

        Returns:
            Forgotten: one sentence saying what was removed and what stays.

        Raises:
            NotFoundError: no upload known to this machine matches.
            UsageError: several match: give name/version.
            ConflictError: the upload is running in another process.

        Example:
            >>> az.uploads.forget("my-llama/2").text()
        """
        journal = self.find_journal(path)
        lock = UploadLock(journal.key, "forget")
        if not lock.acquire():
            raise busy_error(journal.key, journal.name, journal.version)
        with lock:
            return self._forget(journal)

    def _forget(self, journal: UploadJournal) -> Forgotten:
        state = self._status(journal)
        if state.registered:
            journal.delete()
            return Forgotten(
                f"Forgot upload {state.path}; its weights belong to the registered model and "
                "stay (use {0} to remove the model).",
                (NextStep.of("delete", name=state.name, version=state.version),),
            )
        removed_text = ""
        try:
            slot = self.connection.foundry.start_pending_upload(
                journal.name, journal.slot_version, pending_upload_id=journal.pending_upload_id
            )
            removed = delete_blobs(slot.sas_url, self.connection.transport)
            removed_text = f" and removed {removed} staged blob{'s' if removed != 1 else ''}"
        except AzModelsError as exc:
            removed_text = f"; its staged blocks expire on their own ({exc.message})"
        journal.delete()
        return Forgotten(f"Forgot upload {state.path}{removed_text}.")
