"""What the upload commands return: `upload` (its plan and its report), `uploads list/show`,
`uploads prune` and forgetting an upload."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..records import CustomModel, Displayable, WeightsInfo
from ..sizes import human_rate, human_size
from ..steps import NextStep, Syntax, fill, plain
from ..wording import escaped
from .models import deploy_step


@dataclass
class UploadPlan(Displayable):
    """What an upload will do: shown by --dry-run, and followed by the real run."""

    name: str
    version: str
    info: WeightsInfo
    target: str
    block_size: int
    workers: int
    resume_bytes: int = 0  # already staged by an interrupted run of the same upload
    replaces: bool = False  # --overwrite of an existing version
    in_use: list[str] = field(default_factory=list)  # deployments serving the replaced version
    links: dict[str, str] = field(default_factory=dict)  # symbolic links: relative -> target
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # symlinked folders left out ("x/")
    # The transfer's layout: the requests it makes for the bytes (its blocks, or one Put Blob a
    # file), and the largest block it sends (the base size, grown for a file that needs more
    # than the service's 50,000 blocks of it).
    blocks: int = 0
    largest_block: int = 0
    # Files storage copies itself from a remote source (Put Block From URL): none of their bytes
    # passes through this machine.
    copied: int = 0

    @property
    def skipped_folders(self) -> str:
        """'1 symlinked folder (x/)', or '' when none was left out."""
        if not self.skipped:
            return ""
        count = len(self.skipped)
        shown = ", ".join(escaped(s) for s in self.skipped[:3]) + (", ..." if count > 3 else "")
        return f"{count} symlinked folder{'s' if count != 1 else ''} ({shown})"

    @property
    def skipped_text(self) -> str:
        """'skipped: 1 symlinked folder (x/)', or '' when none was left out."""
        return f"skipped: {self.skipped_folders}" if self.skipped else ""

    def rows(self) -> list[tuple[str, Any]]:
        info = self.info
        rows: list[tuple[str, Any]] = [
            ("Model", f"{self.name} version {self.version}"),
            ("Target", self.target),
            ("Source", info.source.display),
            ("Format", info.format),
            ("Files", f"{len(info.files)} ({human_size(info.total_size)})"),
            ("Weights", info.summary()),
            (
                "Block plan",
                f"{self.blocks} block{'s' if self.blocks != 1 else ''} of up to "
                f"{human_size(self.largest_block)}, "
                f"{self.workers} in parallel",
            ),
        ]
        if self.copied:
            rows.append(
                ("Copy", f"{self.copied} of {len(info.files)} files copied by storage from the "
                 "source (server side): no weight byte through this machine")
            )  # fmt: skip
        if self.resume_bytes:
            rows.append(("Resume", f"{human_size(self.resume_bytes)} already uploaded"))
        if self.replaces:
            rows.append(("Replaces", f"the existing version {self.version}"))
        if self.in_use:
            rows.append(("Deployed as", ", ".join(self.in_use) + " (replacing needs --force)"))
        rows.extend(("Note", note) for note in self.notes)
        if self.skipped:
            rows.append(("Skipped", f"{self.skipped_folders}: --follow-symlinks uploads them"))
        if self.links:
            rows.append(("Links", f"{len(self.links)} symbolic link(s), uploaded as their targets"))
        rows.extend(
            (
                "  " + f.relative,
                human_size(f.size)
                + self._link_text(f.relative)
                + (f", sha256 {f.declared_sha256} (declared)" if f.declared_sha256 else ""),
            )
            for f in info.files[:20]
        )
        if len(info.files) > 20:
            rows.append(("  ...", f"{len(info.files) - 20} more files"))
        return rows

    def _link_text(self, relative: str) -> str:
        target = self.links.get(relative)
        return f" -> {target}" if target else ""


@dataclass
class UploadReport:
    """A finished upload: the registered model and how the transfer went."""

    model: CustomModel
    plan: UploadPlan
    bytes_sent: int
    bytes_skipped: int
    seconds: float
    sha256: dict[str, str]  # relative -> SHA-256, for the files whose digest is known
    # Of those, the files whose SHA-256 their source declared (no one computed it here): what
    # `--verify` would compute.
    sha256_declared: list[str] = field(default_factory=list)

    @property
    def verified(self) -> str:
        """What is known of the stored bytes, said plainly."""
        files = len(self.plan.info.files)
        unknown = files - len(self.sha256)
        declared = len(self.sha256_declared)
        if not unknown and not declared:
            return "sizes checked; SHA-256 computed from the bytes"
        parts = ["sizes checked"]
        if declared:
            parts.append(f"SHA-256 of {declared} file{'s' if declared != 1 else ''} declared "
                         "by the source, not computed")  # fmt: skip
        if unknown:
            parts.append(f"{unknown} file{'s' if unknown != 1 else ''} without a SHA-256 "
                         "(none declared)")  # fmt: skip
        return "; ".join(parts) + " (--verify computes them)"

    @property
    def next_steps(self) -> list[NextStep]:
        """What the user may do next: deploy the model, see its details."""
        model = self.model
        return [
            deploy_step(model, what="Deploy it"),
            NextStep.of("show", model.name, version=model.version, what="Details"),
        ]

    def summary(self) -> str:
        rate = human_rate(self.bytes_sent / self.seconds) if self.seconds > 0 else "-"
        resumed = f", {human_size(self.bytes_skipped)} resumed" if self.bytes_skipped else ""
        files = len(self.plan.info.files)
        serving = ""
        if self.plan.in_use:
            serving = f" Deployment {', '.join(self.plan.in_use)} now serves the new weights."
        skipped = f" ({self.plan.skipped_text})" if self.plan.skipped else ""
        if self.plan.copied:  # storage fetched them itself: no rate through this machine
            return (
                f"Copied {files} file{'s' if files != 1 else ''} "
                f"({human_size(self.plan.info.total_size)}{resumed}) server side from "
                f"{self.plan.info.source.display} in {self.seconds:.1f} s ({self.verified}); "
                f"registered {self.model.name} version {self.model.version}.{serving}"
            )
        return (
            f"Uploaded {files} file{'s' if files != 1 else ''} "
            f"({human_size(self.plan.info.total_size)}{resumed}){skipped} in "
            f"{self.seconds:.1f} s at {rate}; registered {self.model.name} version "
            f"{self.model.version}.{serving}"
        )


@dataclass
class UploadStatus(Displayable):
    """One upload known to this machine's journal, merged with the registry."""

    name: str
    version: str
    source: str
    size: int
    bytes_done: int
    files: int
    complete: bool  # every byte committed
    registered: bool
    updated: str
    blob_uri: str  # the model's storage: its container's address, without a credential
    replaces: bool = False  # an --overwrite of a registered version
    base_model: str | None = None  # as the upload was given them, for the command that resumes
    weight_type: str | None = None
    orphaned: str = ""  # why nothing uses its storage and no upload will resume it ("": in use)

    @property
    def path(self) -> str:
        return f"{self.name}/{self.version}"

    @property
    def state(self) -> str:
        if self.orphaned:
            return f"orphaned: {self.orphaned}"
        return "complete" if self.complete else "partial (resumable)"

    @property
    def finish(self) -> NextStep | None:
        """The command that resumes and registers it (None once registered or orphaned)."""
        if self.registered or self.orphaned:
            return None
        weight_type = None if self.weight_type == "FullWeight" else self.weight_type
        return NextStep.of(
            "upload", source=self.source, name=self.name, version=self.version,
            base_model=self.base_model, weight_type=weight_type,
            overwrite=self.replaces, what="Resume and register",
        )  # fmt: skip

    @property
    def next_step(self) -> NextStep | None:
        """What settles it: `uploads prune` once orphaned, else `finish` (None: nothing)."""
        if self.orphaned:
            return NextStep.of("uploads prune", what="Remove its storage")
        return self.finish

    @property
    def hint(self) -> str:
        """`next_step` as text outside any front end (each front end writes it its own way)."""
        step = self.next_step
        return plain(step) if step else ""

    def rows(self) -> list[tuple[str, Any]]:
        done = f"{human_size(self.bytes_done)} of {human_size(self.size)}"
        return [
            ("Source", self.source),
            ("Files", self.files),
            ("Uploaded", done),
            ("State", self.state),
            ("Registered", "yes" if self.registered else "no"),
            ("Last activity", self.updated),
            ("Storage", self.blob_uri),
            ("To finish", self.hint),
        ]


@dataclass(frozen=True)
class Pruned:
    """One orphaned container and what `uploads prune` did with it."""

    path: str  # name/version it was staged for
    blob_uri: str  # the model's storage: its container's address, without a credential
    reason: str  # why it is orphaned
    removed: bool = False
    why_left: str = ""  # when not removed: why (a dry run: what would be tried)


@dataclass
class PruneReport:
    """What `uploads prune` found (in this machine's journals) and did."""

    dry_run: bool
    items: list[Pruned] = field(default_factory=list)

    @property
    def removed(self) -> list[Pruned]:
        return [p for p in self.items if p.removed]

    @property
    def left(self) -> list[Pruned]:
        return [p for p in self.items if not p.removed]

    def summary(self) -> str:
        if not self.items:
            return (
                "No orphaned storage known to this machine (only what its upload journals "
                "know of can be found)."
            )
        count = len(self.items)
        found = f"{count} orphaned container{'s' if count != 1 else ''}"
        if self.dry_run:
            listed = "; ".join(f"{p.blob_uri} ({p.path}: {p.reason})" for p in self.items)
            return f"Dry run: {found} known to this machine: {listed}. Nothing was removed."
        parts = []
        if self.removed:
            parts.append(
                f"Removed the weights in {len(self.removed)} of {found} "
                f"({', '.join(p.blob_uri for p in self.removed)})."
            )
        if self.left:
            listed = "; ".join(f"{p.blob_uri} ({p.path}: {p.why_left})" for p in self.left)
            parts.append(f"Left {len(self.left)}: {listed}.")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "items": [
                {"path": p.path, "storage": p.blob_uri, "reason": p.reason,
                 "removed": p.removed, "left_because": p.why_left or None}
                for p in self.items
            ],
        }  # fmt: skip


@dataclass(frozen=True)
class Forgotten:
    """What forgetting an upload did: one sentence, whose `{0}` names `steps[0]`."""

    message: str
    steps: tuple[NextStep, ...] = ()

    def text(self, syntax: Syntax = plain) -> str:
        return fill(self.message, self.steps, syntax)

    def __str__(self) -> str:
        return self.text()
