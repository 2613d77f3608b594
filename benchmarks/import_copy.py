"""Import blob to blob: our server-side copy (BlobCopy) against AzCopy's own server-to-server copy
(`azcopy copy SRC_URL DST_URL --from-to BlobBlob`), on the same sandbox's Azurite, interleaved.

    python benchmarks/import_copy.py            # a 1 GiB source blob, 3 rounds
    python benchmarks/import_copy.py --quick    # 64 MiB, 1 round

AzCopy as for azcopy.py (benchmarks/.azcopy from npm, or AZCOPY_EXE); without it, this benchmark
reports that it skipped.

The sandbox runs with `--count-storage-traffic`: its blob endpoint is a counting relay in front
of Azurite, which counts the request-body bytes each client sends to storage and the
response-body bytes storage sends back (`/.sandbox/storage/requests`), so the bytes through the
client are measured where they pass, not estimated. The source (random bytes, written once with
the storage SDK) and both destinations are on that Azurite, all addressed through the relay;
Azurite 3.37 fetches a Put Block From URL source on its own host itself.

Each round runs ours, then AzCopy (the order alternating each round), each into a fresh
container and each in a child process timed from fork to exit, its CPU time the child's own
user + sys from wait4's rusage:
- ours: benchmarks/_copy_child.py, `BlobCopy().copy(...)` with its defaults (Put Block From URL
  in parallel ranges, each conditional on the source's ETag, then Put Block List), the copy the
  import (`upload --source <blob URL>`) stages its blobs with;
- AzCopy: `azcopy copy SRC_SAS_URL DST_SAS_URL --from-to BlobBlob` with its defaults.
After each run the destination is read back and checked against the source: size, MD5 and
SHA-256.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import GIB, MIB, REPO, Measured, Report, finish, median, parser, run_measured
from azcopy import find_azcopy

HERE = Path(__file__).resolve().parent
CHILD = HERE / "_copy_child.py"
BLOB = "model.safetensors"
SEED_BLOCK = 16 * MIB


@dataclass
class Source:
    url: str  # with a read-only SAS
    size: int
    etag: str
    md5: str
    sha256: str


@dataclass
class Run:
    """One contender's run: the child measured, the relay's counts, the destination checked."""

    measured: Measured
    sent: int  # request-body bytes the client sent to storage
    received: int  # response-body bytes storage sent the client
    requests: dict[str, int]  # "PUT destination blob": how many, ...
    verified: bool
    load: float
    figures: dict[str, Any] = field(default_factory=dict)


class Relay:
    """The sandbox's counting relay (`/.sandbox/storage/requests`)."""

    def __init__(self, info: Any) -> None:
        from azmodels_magic.sandbox.protocol import STORAGE_TRAFFIC_PATH

        self.url = f"{info.arm_endpoint}{STORAGE_TRAFFIC_PATH}"

    def reading(self) -> dict[str, Any]:
        """`{requests, bodyBytes, responseBodyBytes, value: [{method, path, ...}]}` so far."""
        import requests

        # Give an answer still on its way down through the relay time to be counted.
        time.sleep(0.2)
        return requests.get(self.url, timeout=60).json()


class Storage:
    """The sandbox's Azurite through the relay, with its account key: the source, fresh
    destination containers and their SAS, reading a destination back."""

    def __init__(self, info: Any) -> None:
        from azure.storage.blob import BlobServiceClient

        from azmodels_magic.sandbox.azurite import DEV_ACCOUNT

        self.endpoint = info.blob_endpoint.rstrip("/")
        self.account, self.key = DEV_ACCOUNT, info.storage_key
        self.service = BlobServiceClient(
            self.endpoint,
            credential={"account_name": self.account, "account_key": self.key},
            max_single_get_size=32 * MIB,
            max_chunk_get_size=16 * MIB,
        )

    def sas(self, container: str, *, write: bool) -> str:
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        permission = ContainerSasPermissions(
            read=True, list=True, add=write, create=write, write=write
        )
        expiry = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
        return generate_container_sas(
            self.account, container, account_key=self.key, permission=permission, expiry=expiry
        )

    def seed(self, size: int) -> Source:
        """A source blob of `size` random bytes, staged in blocks (bounded memory), hashed as
        written."""
        container = f"source{uuid.uuid4().hex[:8]}"
        self.service.create_container(container)
        blob = self.service.get_blob_client(container, BLOB)
        md5, sha256 = hashlib.md5(), hashlib.sha256()
        ids = []
        for offset in range(0, size, SEED_BLOCK):
            data = os.urandom(min(SEED_BLOCK, size - offset))
            md5.update(data)
            sha256.update(data)
            ids.append(f"seed-{offset // SEED_BLOCK:08d}")
            blob.stage_block(ids[-1], data)
        etag = blob.commit_block_list(ids)["etag"]
        url = f"{self.endpoint}/{container}/{BLOB}?{self.sas(container, write=False)}"
        return Source(url, size, etag, md5.hexdigest(), sha256.hexdigest())

    def destination(self) -> tuple[str, str]:
        """A fresh container: (its name, its SAS URL)."""
        name = f"import{uuid.uuid4().hex[:10]}"
        self.service.create_container(name)
        return name, f"{self.endpoint}/{name}?{self.sas(name, write=True)}"

    def matches(self, container: str, source: Source) -> bool:
        """Whether the destination blob holds the source's bytes: size, MD5 and SHA-256, read
        back in full."""
        blob = self.service.get_blob_client(container, BLOB)
        if blob.get_blob_properties().size != source.size:
            return False
        md5, sha256 = hashlib.md5(), hashlib.sha256()
        for chunk in blob.download_blob(max_concurrency=2).chunks():
            md5.update(chunk)
            sha256.update(chunk)
        return (md5.hexdigest(), sha256.hexdigest()) == (source.md5, source.sha256)

    def drop(self, container: str) -> None:
        import contextlib

        with contextlib.suppress(Exception):
            self.service.delete_container(container)


# ----------------------------------------------------------------------------- contenders


def measure(storage: Storage, relay: Relay, source: Source, command: Any) -> Run:
    """Run `command(destination container, its SAS URL)` -> (Measured, figures) into a fresh
    container between two readings of the relay, then check the destination."""
    container, sas_url = storage.destination()
    try:
        before = relay.reading()
        measured, figures = command(container, sas_url)
        after = relay.reading()
        load = os.getloadavg()[0]
        verified = storage.matches(container, source)
    finally:
        storage.drop(container)
    # The readings go to the sandbox, not through the relay: these are the child's requests.
    made = after["value"][len(before["value"]) :]
    source_path = source.url.split("?")[0].removeprefix(storage.endpoint.rsplit("/", 1)[0])
    kinds = {
        f"/{storage.account}/{container}/{BLOB}": "destination blob",
        f"/{storage.account}/{container}": "destination container",
        source_path: "source",
    }
    requests = Counter(f"{r['method']} {kinds.get(r['path'], r['path'])}" for r in made)
    return Run(
        measured,
        after["bodyBytes"] - before["bodyBytes"],
        after["responseBodyBytes"] - before["responseBodyBytes"],
        dict(requests),
        verified,
        load,
        figures,
    )


def ours(source: Source, block_mib: int | None, workers: int | None) -> Any:
    def command(container: str, sas_url: str) -> tuple[Measured, dict[str, Any]]:
        job = {
            "sas_url": sas_url,
            "blob": BLOB,
            "source_url": source.url,
            "size": source.size,
            "etag": source.etag,
            "block_size": block_mib * MIB if block_mib else None,
            "workers": workers,
        }
        env = {**os.environ, "AZMODELS_BENCH_COPY": json.dumps(job), "PYTHONPATH": str(REPO)}
        result = run_measured([sys.executable, str(CHILD)], env=env, cwd=REPO)
        if result.returncode != 0:
            raise RuntimeError(f"BlobCopy failed: {result.stderr.strip()[-2000:]}")
        return result, json.loads(result.stdout.strip().splitlines()[-1])

    return command


def azcopy(exe: Path, source: Source, work: Path, concurrency: int | None = None) -> Any:
    count = [0]

    def command(container: str, sas_url: str) -> tuple[Measured, dict[str, Any]]:
        count[0] += 1
        scratch = work / f"azcopy-{concurrency or 'default'}-{count[0]}"
        env = {
            **os.environ,
            "AZCOPY_LOG_LOCATION": str(scratch / "logs"),
            "AZCOPY_JOB_PLAN_LOCATION": str(scratch / "plans"),
            "AZCOPY_DISABLE_SYSLOG": "true",
        }
        if concurrency:
            env["AZCOPY_CONCURRENCY_VALUE"] = str(concurrency)
        base, _, sas = sas_url.partition("?")
        destination = f"{base}/{BLOB}?{sas}"
        command = [str(exe), "copy", source.url, destination, "--from-to", "BlobBlob"]
        figures = {}
        try:
            result = run_measured(command, env=env, cwd=work)
            for log in (scratch / "logs").glob("*.log"):
                for line in log.read_text(errors="replace").splitlines():
                    _, found, rest = line.partition("Max concurrent network operations:")
                    if found and rest.split():
                        figures["concurrency"] = rest.split()[0]
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if result.returncode != 0:
            from azmodels_magic.redaction import redact  # its output may quote the SAS

            tail = redact(" / ".join(result.stdout.strip().splitlines()[-8:]))
            raise RuntimeError(f"azcopy failed ({result.returncode}): {tail}")
        return result, figures

    return command


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, help="interleaved rounds (default 3, quick 1)")
    p.add_argument("--size-mib", type=int, help="the source blob (default 1024, quick 64)")
    p.add_argument("--block-mib", type=int, help="our block size (default: BlobCopy's)")
    p.add_argument("--workers", type=int, help="our parallel blocks (default: BlobCopy's)")
    p.add_argument(
        "--try-shapes",
        nargs="+",
        default=[],
        metavar="MIBxWORKERS",
        help="also run ours with these shapes each round (e.g. 8x4 32x4 16x8), for tuning",
    )
    p.add_argument(
        "--try-azcopy-concurrency",
        nargs="+",
        type=int,
        default=[],
        metavar="N",
        help="also run AzCopy with AZCOPY_CONCURRENCY_VALUE=N each round",
    )
    args = p.parse_args(argv)
    started = time.monotonic()
    rounds = args.rounds or (1 if args.quick else 3)
    size = (args.size_mib or (64 if args.quick else 1024)) * MIB
    report = Report(title="Import blob to blob vs AzCopy")

    exe, version = find_azcopy()
    if exe is None:
        report.add("AzCopy", "skipped: not available", detail=version)
        report.notes.append(f"Skipped: {version}.")
        report.versions = {"AzCopy": "not installed"}
        print(f"import benchmark skipped: {version}", flush=True)
        return finish(report, args, started)
    report.versions = {"AzCopy": version}

    from _common import sandbox

    work = Path(tempfile.mkdtemp(prefix="azmodels-bench-import-"))
    shapes = {f"ours {shape}": tuple(int(n) for n in shape.split("x")) for shape in args.try_shapes}
    tried = {f"azcopy {n}": n for n in args.try_azcopy_concurrency}
    runs: dict[str, list[Run]] = {"ours": [], "azcopy": [], **{n: [] for n in [*shapes, *tried]}}
    try:
        with sandbox(provision_seconds=0, extra_args=["--count-storage-traffic"]) as box:
            storage = Storage(box.info)
            relay = Relay(box.info)
            seeded = time.monotonic()
            source = storage.seed(size)
            print(f"seeded {size_label(size)} in {time.monotonic() - seeded:.1f} s", flush=True)
            contenders = {
                "ours": ours(source, args.block_mib, args.workers),
                "azcopy": azcopy(exe, source, work),
                **{name: ours(source, *shape) for name, shape in shapes.items()},
                **{name: azcopy(exe, source, work, n) for name, n in tried.items()},
            }
            for index in range(rounds):
                # ours and AzCopy alternate who goes first; shapes being tried go in between
                order = ["ours", *shapes, *tried, "azcopy"]
                if index % 2:
                    order.reverse()
                for name in order:
                    runs[name].append(measure(storage, relay, source, contenders[name]))
                o, a = runs["ours"][-1], runs["azcopy"][-1]
                print(
                    f"round {index + 1}: ours {o.measured.wall:.2f} s ({o.measured.cpu:.2f} s "
                    f"CPU, {o.sent} B up, {o.received} B down), azcopy {a.measured.wall:.2f} s "
                    f"({a.measured.cpu:.2f} s CPU, {a.sent} B up, {a.received} B down) "
                    f"(load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
                for name in [*shapes, *tried]:
                    r = runs[name][-1].measured
                    print(f"  {name}: {r.wall:.2f} s ({r.cpu:.2f} s CPU)", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    add_rows(report, size, runs, version, exe)
    return finish(report, args, started)


def add_rows(report: Report, size: int, runs: dict[str, list[Run]], version: str,
             exe: Path) -> None:  # fmt: skip
    ours, theirs = runs["ours"], runs["azcopy"]
    label = size_label(size)
    figures = ours[0].figures
    shape = f"{figures['block_size'] // MIB} MiB blocks x {figures['workers']} workers"
    walls = lambda rs: ", ".join(f"{r.measured.wall:.2f}" for r in rs)  # noqa: E731
    cpus = lambda rs: ", ".join(f"{r.measured.cpu:.2f}" for r in rs)  # noqa: E731
    loads = lambda rs: ", ".join(f"{r.load:.1f}" for r in rs)  # noqa: E731
    for name, rs, what in (
        ("ours (BlobCopy)", ours, f"Put Block From URL, {shape}, then Put Block List"),
        ("AzCopy", theirs, "`azcopy copy SRC DST --from-to BlobBlob`, its defaults"),
    ):
        wall = median([r.measured.wall for r in rs])
        cpu = median([r.measured.cpu for r in rs])
        detail = (
            f"{what}; per round {walls(rs)} s, CPU {cpus(rs)} s (median user "
            f"{median([r.measured.user for r in rs]):.2f} s + sys "
            f"{median([r.measured.sys for r in rs]):.2f} s); load average (1 min) after each "
            f"run {loads(rs)}"
        )
        if rs is ours:
            detail += (
                f"; inside the child, its main() to the copy's start "
                f"{median([r.figures['startup_seconds'] for r in rs]):.2f} s, the copy "
                f"{median([r.figures['copy_seconds'] for r in rs]):.2f} s (median)"
            )
        report.add(
            f"{name}, {label} blob to blob: whole command",
            f"{wall:.2f} s, {size / 1e6 / wall:.0f} MB/s, {cpu:.2f} CPU s",
            detail=detail,
        )
    speed = [a.measured.wall / o.measured.wall for o, a in zip(ours, theirs, strict=True)]
    fast = median(speed)
    row = report.add(
        "ours vs AzCopy, speed",
        f"{fast:.2f} x",
        ">= 1.0 x",
        fast >= 1.0,
        detail="AzCopy's wall time / ours, median of per-round ratios "
        + ", ".join(f"{x:.2f}" for x in speed),
    )
    if not row.passed:
        row.cause = (
            f"ours {median([o.measured.wall for o in ours]):.2f} s against AzCopy's "
            f"{median([a.measured.wall for a in theirs]):.2f} s; of ours, the copy itself took "
            f"{median([o.figures['copy_seconds'] for o in ours]):.2f} s (the rest: a fresh "
            "Python interpreter's start-up and imports)"
        )
    cpu = [o.measured.cpu / a.measured.cpu for o, a in zip(ours, theirs, strict=True)]
    report.add(
        "ours vs AzCopy, client CPU time",
        f"{median(cpu):.2f} x",
        detail="our CPU time / AzCopy's (user + sys, wait4 rusage), median of per-round ratios "
        + ", ".join(f"{x:.2f}" for x in cpu),
    )
    for name, rs in (("ours", ours), ("AzCopy", theirs)):
        counts = sorted(rs[0].requests.items(), key=lambda kv: -kv[1])
        requests = ", ".join(f"{n} {kind}" for kind, n in counts)
        sent = max(r.sent for r in rs)
        received = max(r.received for r in rs)
        through = sent + received
        report.add(
            f"{name}: bytes through the client (sent + received bodies)",
            f"{sent:,} + {received:,} B",
            "< 0.1 % of the blob",
            through < size / 1000,
            detail=f"counted at the sandbox's relay in front of Azurite, the most of any round "
            f"({through / size * 100:.4f} % of {label}); its requests to storage (first round): "
            + requests,
        )
    for name, rs in runs.items():
        if name.startswith("azcopy "):
            ratio = [a.measured.wall / r.measured.wall for a, r in zip(theirs, rs, strict=True)]
            report.add(
                f"AzCopy with AZCOPY_CONCURRENCY_VALUE={name.split()[1]}, speed vs its defaults",
                f"{median(ratio):.2f} x",
                detail="AzCopy's default wall time / this one's, median of per-round ratios "
                + ", ".join(f"{x:.2f}" for x in ratio)
                + f"; per round {walls(rs)} s, CPU {cpus(rs)} s",
            )
        if not name.startswith("ours "):
            continue
        ratio = [o.measured.wall / r.measured.wall for o, r in zip(ours, rs, strict=True)]
        report.add(
            f"ours with {name.split()[1].replace('x', ' MiB x ')} workers, speed vs the defaults",
            f"{median(ratio):.2f} x",
            detail="our defaults' wall time / this shape's, median of per-round ratios "
            + ", ".join(f"{x:.2f}" for x in ratio)
            + f"; per round {walls(rs)} s",
        )
    checked = [r.verified for rs in runs.values() for r in rs]
    report.add(
        "destination = source (size, MD5, SHA-256), every run",
        "yes" if all(checked) else f"no ({checked.count(False)} of {len(checked)} differ)",
        "yes",
        all(checked),
        detail="each destination read back in full after its run and hashed",
    )
    shown = exe.relative_to(REPO) if exe.is_relative_to(REPO) else exe
    blocks = lambda r: r.requests.get("PUT destination blob", 1) - 1  # noqa: E731 (and the commit)
    report.notes.append(
        f"AzCopy {version} ({shown}), run with its defaults: it warns that HTTP is in use "
        "(loopback Azurite) and copies server to server all the same, with Put Block From URL "
        f"({blocks(theirs[0])} blocks of {size // max(1, blocks(theirs[0])) / MIB:g} MiB) and "
        f"{theirs[0].figures.get('concurrency', '?')} concurrent network operations (its log); "
        f"ours staged {blocks(ours[0])} blocks of {figures['block_size'] // MIB} MiB, "
        f"{figures['workers']} at a time."
    )
    report.notes.append(TUNING)
    busy = lambda rs: median([r.measured.cpu / r.measured.wall for r in rs])  # noqa: E731
    report.notes.append(
        f"CPU seconds per wall second: AzCopy {busy(theirs):.2f}, ours {busy(ours):.2f}. Neither "
        "moves a weight byte; on this machine the client's CPU is taken from the 2 cores Azurite "
        "copies with."
    )


TUNING = (
    "Tuning (measured apart on 2026-12-04, interleaved, 2 rounds, load average 4-6): `python "
    "benchmarks/import_copy.py --rounds 2 --size-mib 512 --try-shapes 8x4 32x4 16x8 16x2`: no "
    "shape tried beat BlobCopy's defaults (16 MiB blocks x 4 workers here; the"
    " defaults' time / the shape's: 8 MiB x 4 0.86 x, 32 MiB x 4 0.72 x, 16 MiB x 8 0.84 x, 16 "
    "MiB x 2 0.84 x), so the defaults were kept; and `--size-mib 256 --try-azcopy-concurrency "
    "4` made AzCopy slower (0.75 x its default speed), not leaner (6.1 CPU s against 4.9), so "
    "its CPU is not its 32 connections. AzCopy's wall times at 64 and 256 MiB came at 2.04, "
    "4.04, 6.04 and 8.04 s: it appears to see its job finish on a 2-second tick, which adds at "
    "most 2 s to its figure here."
)


def size_label(size: int) -> str:
    return f"{size / GIB:g} GiB" if size >= GIB else f"{size // MIB} MiB"


if __name__ == "__main__":
    sys.exit(main())
