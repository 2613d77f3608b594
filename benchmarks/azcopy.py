"""Upload against AzCopy, the tool users would pick instead (azd's `ai models` extension and the
azure-ai-projects SDK shell out to it), on three shapes, into the same sandbox's Azurite.

    python benchmarks/azcopy.py            # 1 GiB, 8 x 128 MiB shards, 2,000 x 64 KiB; 3 rounds
    python benchmarks/azcopy.py --quick    # 64 MiB, 4 x 16 MiB, 200 x 64 KiB; 1 round

AzCopy is Microsoft's Go binary, shipped for Linux on npm; it is not a dependency of the package.
Get it for the benchmarks only (the folder is git-ignored):

    apt-get install -y libsecret-1-0        # the npm build links libsecret (Debian's package)
    npm install --no-save --prefix benchmarks/.azcopy @azure-tools/azcopy-linux

or point AZCOPY_EXE at an azcopy binary. Without it, this benchmark reports that it skipped.

Each round runs, per shape, `azmodels upload` (a child process through the real service path, as
upload.py's) and `azcopy copy SOURCE SLOT --from-to LocalBlob` into an upload slot from
startPendingUpload (its SAS), in an order that alternates each round. Both are timed from fork to
exit; their CPU time is the child's own user + sys from wait4's rusage.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import (
    GIB,
    MIB,
    REPO,
    Logged,
    Measured,
    Report,
    RequestLog,
    finish,
    info_json,
    median,
    parser,
    run_measured,
)
from upload import CHILD, Storage, write_safetensors

HERE = Path(__file__).resolve().parent
NPM_BINARY = HERE / ".azcopy/node_modules/@azure-tools/azcopy-linux/dist/bin/azcopy_linux_amd64"
HOW_TO_GET = (
    "apt-get install -y libsecret-1-0 && "
    "npm install --no-save --prefix benchmarks/.azcopy @azure-tools/azcopy-linux "
    "(or set AZCOPY_EXE to an azcopy binary)"
)
WHAT_AZCOPY_DOES_NOT = (
    "AzCopy's figure is its transfer alone: no content hash (--put-md5 is off by default), no "
    "format inspection, no verification, no registration; its upload slot (startPendingUpload) is "
    "requested before its clock starts. Ours counts all of these, and a fresh interpreter's "
    "start-up and imports."
)


# ----------------------------------------------------------------------------- AzCopy


def find_azcopy() -> tuple[Path | None, str]:
    """(the binary, its version) or (None, why not)."""
    given = os.environ.get("AZCOPY_EXE")
    candidates = [Path(given)] if given else [NPM_BINARY]
    if not given and shutil.which("azcopy"):
        candidates.append(Path(shutil.which("azcopy")))
    if given and not Path(given).is_file():
        return None, f"AZCOPY_EXE={given} is not a file: {HOW_TO_GET}"
    for exe in candidates:
        if not exe.is_file():
            continue
        if exe == NPM_BINARY and not os.access(exe, os.X_OK):
            # npm unpacks the binary without its execute bit; it is our own copy to fix.
            exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        try:
            done = subprocess.run(
                [str(exe), "--version"], capture_output=True, text=True, timeout=60
            )
        except OSError as error:
            return None, f"{exe} does not run ({error}): {HOW_TO_GET}"
        if done.returncode != 0:
            why = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            return None, f"{exe} does not run ({why[0]}): {HOW_TO_GET}"
        return exe, done.stdout.strip().removeprefix("azcopy version ").strip()
    return None, f"AzCopy is not installed: {HOW_TO_GET}"


class AzCopy:
    """`azcopy copy` into a fresh upload slot per run; its logs and job plans in a scratch dir."""

    def __init__(self, exe: Path, app: Any, storage: Storage, work: Path) -> None:
        self.exe = exe
        self.app = app
        self.storage = storage
        self.work = work
        self.count = 0

    def run(self, shape: Shape) -> Measured:
        self.count += 1
        name = f"azcopy-{self.count}-{uuid.uuid4().hex[:6]}"
        slot = self.app.connection.foundry.start_pending_upload(name, "1")
        base, _, sas = slot.sas_url.partition("?")
        container = base.rstrip("/").rsplit("/", 1)[-1]
        scratch = self.work / f"azcopy-{self.count}"
        env = {
            **os.environ,
            "AZCOPY_LOG_LOCATION": str(scratch / "logs"),
            "AZCOPY_JOB_PLAN_LOCATION": str(scratch / "plans"),
            "AZCOPY_DISABLE_SYSLOG": "true",
        }
        if shape.source.is_dir():  # the folder's contents at the container's root, as ours
            where = [f"{shape.source}/*", f"{base}?{sas}", "--recursive"]
        else:
            where = [str(shape.source), f"{base}/{shape.source.name}?{sas}"]
        command = [str(self.exe), "copy", *where, "--from-to", "LocalBlob"]
        try:
            result = run_measured(command, env=env, cwd=scratch.parent)
            if result.returncode != 0:
                from azmodels_magic.redaction import redact  # its output may quote the SAS

                tail = redact(" / ".join(result.stdout.strip().splitlines()[-5:]))
                raise RuntimeError(f"azcopy failed ({result.returncode}): {tail}")
            stored = self.stored(container)
            if stored != (shape.files, shape.total):
                raise RuntimeError(
                    f"azcopy stored {stored[0]} blobs of {stored[1]} bytes, expected "
                    f"{shape.files} of {shape.total}"
                )
            return result
        finally:
            self.storage.drop(container)
            shutil.rmtree(scratch, ignore_errors=True)

    def stored(self, container: str) -> tuple[int, int]:
        blobs = list(self.storage.service.get_container_client(container).list_blobs())
        return len(blobs), sum(b.size for b in blobs)


# ----------------------------------------------------------------------------- ours


class Ours:
    """`azmodels upload` in a child process (upload.py's child), its own journal folder each."""

    def __init__(self, info: Any, app: Any, storage: Storage, log: RequestLog, work: Path):
        self.info = info
        self.app = app
        self.storage = storage
        self.log = log
        self.work = work
        self.count = 0

    def run(self, shape: Shape) -> tuple[Measured, dict[str, Any]]:
        self.count += 1
        name = f"ours-{self.count}-{uuid.uuid4().hex[:6]}"
        cache = self.work / f"cache-{name}"
        env = {
            **os.environ,
            "AZMODELS_BENCH_SANDBOX": info_json(self.info),
            "AZMODELS_CACHE_DIR": str(cache),
            "AZMODELS_INTERACTIVE": "0",
            "PYTHONPATH": str(REPO),
        }
        mark = self.log.mark()
        command = [sys.executable, str(CHILD), "--base-model", "gpt-4o", "--source",
                   str(shape.source), "--name", name]  # fmt: skip
        result = run_measured(command, env=env, cwd=REPO)
        requests = self.log.since(mark)
        try:
            if result.returncode != 0:
                raise RuntimeError(f"azmodels upload failed: {result.stderr.strip()[-2000:]}")
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            if figures["bytes_sent"] != shape.total or figures["files"] != shape.files:
                raise RuntimeError(f"azmodels upload sent {figures['bytes_sent']} bytes in "
                                   f"{figures['files']} files, expected {shape.total} in "
                                   f"{shape.files}")  # fmt: skip
            figures.update(phases(result, requests))
            figures["requests"] = len(requests)
            return result, figures
        finally:
            self.cleanup(name)
            shutil.rmtree(cache, ignore_errors=True)

    def cleanup(self, name: str) -> None:
        """Drop the registration, then its container at once (faster than blob by blob)."""
        blob_uri = None
        with contextlib.suppress(Exception):
            blob_uri = self.app.models.delete_version(name, "1", keep_weights=True).model.blob_uri
        if blob_uri:
            self.storage.drop(blob_uri.rstrip("/").split("/")[4])


def phases(result: Measured, requests: list[Logged]) -> dict[str, float]:
    """Where the whole command's time went, from the sandbox's request log: start-up (fork to
    its first request: interpreter, imports, inspection), the createAsync answer, and the
    registration (createAsync sent to the last request answered: the answer, polls, read-back)."""
    registered = [r for r in requests if r.path.endswith("/createAsync")]
    if not requests or not registered:
        return {"startup_seconds": 0.0, "create_async_seconds": 0.0, "register_seconds": 0.0}
    return {
        "startup_seconds": max(0.0, requests[0].began - result.started_at),
        "create_async_seconds": registered[-1].ms / 1000,
        "register_seconds": max(0.0, requests[-1].ended - registered[-1].began),
        "polls": sum(1 for r in requests if "/operations/" in r.path),
    }


# ----------------------------------------------------------------------------- shapes


@dataclass
class Shape:
    key: str
    label: str
    source: Path
    files: int
    total: int


def one_file(work: Path, size: int) -> Shape:
    folder = work / "file"
    folder.mkdir()
    path = write_safetensors(folder / "model.safetensors", size)
    return Shape("file", f"one {size_label(size)} file", path, 1, size)


def hf_folder(work: Path, shards: int, shard_size: int) -> Shape:
    """A Hugging Face-style checkpoint: sharded safetensors, their index, config and tokenizer."""
    root = work / "hf"
    root.mkdir()
    weight_map = {}
    for i in range(shards):
        shard = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        tensor = f"model.layers.{i}.mlp.weight"
        write_safetensors(root / shard, shard_size, tensor=tensor)
        weight_map[tensor] = shard
    texts = {
        "model.safetensors.index.json": {
            "metadata": {"total_size": shards * shard_size},
            "weight_map": weight_map,
        },
        "config.json": {
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "hidden_size": 4096,
            "intermediate_size": 14336,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "num_key_value_heads": 8,
            "max_position_embeddings": 8192,
            "vocab_size": 128256,
            "torch_dtype": "bfloat16",
        },
        "generation_config.json": {"bos_token_id": 128000, "eos_token_id": 128001},
        "special_tokens_map.json": {"bos_token": "<s>", "eos_token": "</s>"},
        "tokenizer_config.json": {"model_max_length": 8192, "tokenizer_class": "Fast"},
        # A byte-level BPE tokenizer of the usual size (a few MB of JSON).
        "tokenizer.json": {
            "version": "1.0",
            "model": {
                "type": "BPE",
                "vocab": {f"tok{i:06d}": i for i in range(128000)},
                "merges": [f"tok{i:06d} tok{i + 1:06d}" for i in range(0, 100000, 2)],
            },
        },
    }
    for name, body in texts.items():
        (root / name).write_text(json.dumps(body, indent=2))
    (root / "README.md").write_text("# bench-model\n\nSynthetic weights for the benchmarks.\n")
    files = sorted(p for p in root.iterdir() if p.is_file())
    total = sum(p.stat().st_size for p in files)
    label = f"folder of {shards} x {size_label(shard_size)} shards + config/tokenizer"
    return Shape("hf", label, root, len(files), total)


def many_files(work: Path, count: int, size: int) -> Shape:
    """Many small plain files (bytes, not weights) next to one small weights file."""
    root = work / "many"
    (root / "data").mkdir(parents=True)
    write_safetensors(root / "model.safetensors", MIB)
    for i in range(count):
        (root / "data" / f"part-{i + 1:05d}.dat").write_bytes(os.urandom(size))
    total = MIB + count * size
    label = f"{count:,} x {size // 1024} KiB files + one small weights file"
    return Shape("many", label, root, count + 1, total)


def warm(shape: Shape) -> None:
    """Read every byte once: both contenders then start from the page cache."""
    paths = [shape.source] if shape.source.is_file() else shape.source.rglob("*")
    for path in paths:
        if path.is_file():
            with open(path, "rb") as handle:
                while handle.read(8 * MIB):
                    pass


def size_label(size: int) -> str:
    return f"{size / GIB:g} GiB" if size >= GIB else f"{size // MIB} MiB"


# ----------------------------------------------------------------------------- main


def inspection_seconds(shape: Shape) -> float:
    """What `inspect_source` takes on this shape in this process (warm, best of 3)."""
    from azmodels_magic.sources.local import LocalSource
    from azmodels_magic.weights import inspect_source

    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        inspect_source(LocalSource(shape.source))
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, help="interleaved rounds (default 3, quick 1)")
    p.add_argument(
        "--shapes", nargs="+", choices=["file", "hf", "many"], default=["file", "hf", "many"]
    )
    p.add_argument("--file-mib", type=int, help="the one file (default 1024, quick 64)")
    p.add_argument("--shard-mib", type=int, help="each of 8 shards (default 128, quick 16)")
    p.add_argument("--shards", type=int, help="shards (default 8, quick 4)")
    p.add_argument("--small-files", type=int, help="the many files (default 2000, quick 200)")
    args = p.parse_args(argv)
    started = time.monotonic()
    rounds = args.rounds or (1 if args.quick else 3)
    report = Report(title="Upload vs AzCopy")

    exe, version = find_azcopy()
    if exe is None:
        report.add("AzCopy", "skipped: not available", detail=version)
        report.notes.append(f"Skipped: {version}.")
        report.versions = {"AzCopy": "not installed"}
        print(f"azcopy benchmark skipped: {version}", flush=True)
        return finish(report, args, started)
    shown = exe.relative_to(REPO) if exe.is_relative_to(REPO) else exe
    report.notes.append(f"AzCopy {version} ({shown}), run with its defaults.")
    report.versions = {"AzCopy": version}
    report.notes.append(WHAT_AZCOPY_DOES_NOT)

    from _common import app_for, sandbox

    work = Path(tempfile.mkdtemp(prefix="azmodels-bench-azcopy-"))
    try:
        builders = {
            "file": lambda: one_file(work, (args.file_mib or (64 if args.quick else 1024)) * MIB),
            "hf": lambda: hf_folder(
                work,
                args.shards or (4 if args.quick else 8),
                (args.shard_mib or (16 if args.quick else 128)) * MIB,
            ),
            "many": lambda: many_files(
                work, args.small_files or (200 if args.quick else 2000), 64 * 1024
            ),
        }
        shapes = [builders[key]() for key in args.shapes]
        for shape in shapes:
            warm(shape)
        with sandbox(provision_seconds=0) as box:
            info = box.info
            app = app_for(info)
            storage = Storage(info.blob_endpoint, info.storage_key)
            log = RequestLog(box.log_path)
            ours = Ours(info, app, storage, log, work)
            azcopy = AzCopy(exe, app, storage, work)
            runs: dict[str, dict[str, list]] = {s.key: {"ours": [], "figures": [], "azcopy": []}
                                               for s in shapes}  # fmt: skip
            for index in range(rounds):
                for shape in shapes:
                    order = ["ours", "azcopy"] if index % 2 == 0 else ["azcopy", "ours"]
                    for contender in order:
                        if contender == "ours":
                            result, figures = ours.run(shape)
                            runs[shape.key]["figures"].append(figures)
                        else:
                            result = azcopy.run(shape)
                        runs[shape.key][contender].append(result)
                    o, a = runs[shape.key]["ours"][-1], runs[shape.key]["azcopy"][-1]
                    print(
                        f"round {index + 1}, {shape.key}: ours {o.wall:.1f} s ({o.cpu:.1f} s "
                        f"CPU), azcopy {a.wall:.1f} s ({a.cpu:.1f} s CPU) "
                        f"(load {os.getloadavg()[0]:.1f})",
                        flush=True,
                    )
            inspections = {s.key: inspection_seconds(s) for s in shapes}
            app.close()
        for shape in shapes:
            add_shape(report, shape, runs[shape.key], inspections[shape.key])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return finish(report, args, started)


def add_shape(report: Report, shape: Shape, runs: dict[str, list], inspection: float) -> None:
    ours: list[Measured] = runs["ours"]
    theirs: list[Measured] = runs["azcopy"]
    figures: list[dict[str, Any]] = runs["figures"]
    gib = shape.total / GIB
    walls = lambda xs: ", ".join(f"{x.wall:.1f}" for x in xs)  # noqa: E731
    cpus = lambda xs: ", ".join(f"{x.cpu / gib:.1f}" for x in xs)  # noqa: E731
    for label, measured in (("azmodels upload", ours), ("AzCopy", theirs)):
        wall = median([m.wall for m in measured])
        cpu = median([m.cpu for m in measured]) / gib
        detail = (
            f"per round {walls(measured)} s; CPU {cpus(measured)} s/GiB "
            f"(user {median([m.user for m in measured]):.1f} s + sys "
            f"{median([m.sys for m in measured]):.1f} s)"
        )
        if measured is ours:
            detail += "; " + breakdown(figures, inspection)
        report.add(
            f"{label}, {shape.label}: whole command",
            f"{wall:.1f} s, {shape.total / 1e6 / wall:.0f} MB/s, {cpu:.1f} CPU s/GiB",
            detail=detail,
        )
    speed = [a.wall / o.wall for o, a in zip(ours, theirs, strict=True)]
    cpu = [o.cpu / a.cpu for o, a in zip(ours, theirs, strict=True)]
    fast = median(speed)
    row = report.add(
        f"{shape.label}: ours vs AzCopy, speed",
        f"{fast:.2f} x",
        ">= 1.0 x",
        fast >= 1.0,
        detail="AzCopy's wall time / ours, median of per-round ratios "
        + ", ".join(f"{x:.2f}" for x in speed),
    )
    if not row.passed:
        row.cause = speed_cause(ours, theirs, figures, inspection)
    lean = median(cpu)
    row = report.add(
        f"{shape.label}: ours vs AzCopy, CPU s/GiB",
        f"{lean:.2f} x",
        "<= 1.0 x",
        lean <= 1.0,
        detail="our CPU time / AzCopy's (user + sys, wait4 rusage), median of per-round ratios "
        + ", ".join(f"{x:.2f}" for x in cpu),
    )
    if not row.passed:
        row.cause = (
            f"ours {median([o.cpu for o in ours]):.1f} s against "
            f"{median([a.cpu for a in theirs]):.1f} s: ours also hashes every byte (SHA-256) "
            "and pays a Python interpreter's start-up and imports"
        )


def breakdown(figures: list[dict], inspection: float) -> str:
    """Our whole command in phases (medians over the rounds), from the sandbox's request log."""
    m = lambda key: median([f.get(key, 0.0) for f in figures])  # noqa: E731
    return (
        f"phases (median): start-up to the first request {m('startup_seconds'):.1f} s (of which "
        f"inspection {inspection:.2f} s, measured apart), transfer {m('transfer_seconds'):.1f} s, "
        f"registration {m('register_seconds'):.1f} s (the sandbox's createAsync answer "
        f"{m('create_async_seconds'):.1f} s, then {m('polls'):.0f} poll(s) and the read-back); "
        f"{figures[0]['requests']} requests to the sandbox's ARM/Foundry"
    )


def speed_cause(ours: list[Measured], theirs: list[Measured], figures: list[dict],
                inspection: float) -> str:  # fmt: skip
    """Where our extra wall time went, from what was measured."""
    wall = median([o.wall for o in ours])
    gap = wall - median([a.wall for a in theirs])
    startup = median([f["startup_seconds"] for f in figures])
    transfer = median([f["transfer_seconds"] for f in figures])
    register = median([f["register_seconds"] for f in figures])
    answer = median([f["create_async_seconds"] for f in figures])
    rest = max(0.0, wall - startup - transfer - register)
    causes = [
        f"{gap:.1f} s behind AzCopy: of our {wall:.1f} s, start-up {startup:.1f} s (interpreter, "
        f"imports, inspection {inspection:.1f} s), transfer {transfer:.1f} s, registration "
        f"{register:.1f} s, the rest {rest:.1f} s (verification, exit)."
    ]
    if answer >= 0.5:
        causes.append(
            f"The sandbox took {answer:.1f} s to answer createAsync (it answers 202 at once and "
            "checks in the background: this is the load on the machine)."
        )
    polls = median([f.get("polls", 0) for f in figures])
    blobs = median([f.get("files", 0) + 1 for f in figures])  # and the manifest
    if register - answer >= 0.5 and polls:
        causes.append(
            f"After the 202, {register - answer:.1f} s went into {polls:.0f} poll(s) at the "
            "interval the sandbox asks (retry-after-ms) while it checked the weights in the "
            f"background (as Azure checks while the client polls): one Get Block List per blob "
            f"on Azurite, {(register - answer) * 1000 / max(1, blobs):.1f} ms per blob for "
            f"{blobs:,.0f} blobs. Azurite is one Node process: asked 1, 4 or 8 at a time it "
            "answered 2,000 of them in the same 2.5-2.8 s (measured apart), and its listing "
            "cannot tell a committed blob with staged blocks from a clean one. A cost of the "
            "sandbox's check, which AzCopy's figure does not include."
        )
    if inspection >= 0.5:
        causes.append(f"Per-file inspection took {inspection:.1f} s (every file is probed).")
    return " ".join(causes)


if __name__ == "__main__":
    sys.exit(main())
