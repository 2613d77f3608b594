"""Upload benchmark: throughput against a raw-HTTP ceiling and azure-storage-blob's defaults,
peak RSS, resume after kill -9, and a folder of many small files, all on one sandbox's Azurite.

    python benchmarks/upload.py            # 1 GiB file, 3 interleaved rounds, 4 GiB RSS run
    python benchmarks/upload.py --quick    # 64 MiB / 256 MiB smoke sizes

The three throughput contenders run interleaved (ceiling, defaults, ours; ceiling, defaults,
ours; ...) on the same file (in the page cache after the first read), so a burst of load from
other work on the machine hits all three alike; each round gives a ratio, and the verdict uses
the median of the per-round ratios.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

from _common import GIB, MIB, REPO, Report, finish, info_json, median, parser, vm_hwm

CHILD = Path(__file__).resolve().parent / "_upload_child.py"
X_MS_VERSION = "2021-08-06"
RSS_TARGET = 200 * 1000 * 1000  # 200 MB


# ----------------------------------------------------------------------------- test data


def write_safetensors(path: Path, size: int, *, sparse: bool = False, tensor: str = "w") -> Path:
    """A valid safetensors file of exactly `size` bytes: one U8 tensor, random bytes (a 16 MiB
    random pattern repeated) or, with `sparse`, a hole of zeros that costs no disk."""
    count = size - 8
    while True:
        meta = {tensor: {"dtype": "U8", "shape": [count], "data_offsets": [0, count]}}
        header = json.dumps(meta, separators=(",", ":")).encode()
        header += b" " * (-len(header) % 8)
        if 8 + len(header) + count == size:
            break
        count = size - 8 - len(header)
    with open(path, "wb") as out:
        out.write(len(header).to_bytes(8, "little") + header)
        if sparse:
            out.truncate(size)
        else:
            pattern = os.urandom(16 * MIB)
            left = count
            while left:
                piece = pattern[: min(left, len(pattern))]
                out.write(piece)
                left -= len(piece)
    return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(8 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


# ----------------------------------------------------------------------------- storage side


class Storage:
    """The sandbox's Azurite, reached with its account key (from the sandbox's ready line):
    containers and SAS tokens for the two reference contenders, and reading back what was
    stored."""

    def __init__(self, blob_endpoint: str, key: str) -> None:
        from azure.storage.blob import BlobServiceClient

        from azmodels_magic.sandbox.azurite import DEV_ACCOUNT

        self.endpoint = blob_endpoint.rstrip("/")
        self.account, self.key = DEV_ACCOUNT, key
        self.service = BlobServiceClient(
            self.endpoint, credential={"account_name": DEV_ACCOUNT, "account_key": key}
        )

    def container(self) -> tuple[str, str, str]:
        """A fresh container: (name, container URL, SAS token)."""

        name = f"bench{uuid.uuid4().hex[:10]}"
        self.service.create_container(name)
        return name, f"{self.endpoint}/{name}", self.sas(name)

    def sas(self, container: str) -> str:
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        return generate_container_sas(
            self.account,
            container,
            account_key=self.key,
            permission=ContainerSasPermissions(
                read=True, add=True, create=True, write=True, list=True, delete=True
            ),
            expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=2),
        )

    def drop(self, container: str) -> None:
        with contextlib.suppress(Exception):
            self.service.delete_container(container)

    def sha256_of(self, blob_uri: str, relative: str) -> str:
        """SHA-256 of a stored blob, downloaded again (the independent check)."""
        from azure.storage.blob import BlobClient

        parts = urlparse(blob_uri).path.strip("/").split("/")
        container, prefix = parts[1], "/".join(parts[2:])
        name = f"{prefix}/{relative}" if prefix else relative
        url = f"{self.endpoint}/{container}/{quote(name)}?{self.sas(container)}"
        blob = BlobClient.from_blob_url(url)
        digest = hashlib.sha256()
        for chunk in blob.download_blob(max_concurrency=4).chunks():
            digest.update(chunk)
        return digest.hexdigest()


# ----------------------------------------------------------------------------- contenders


def ceiling(storage: Storage, path: Path, block: int, threads: int) -> float:
    """Raw Put Block requests (requests, one session per thread, block read with pread) and one
    Put Block List. Returns seconds from the first request to the committed blob."""
    import requests

    name, url, token = storage.container()
    size = path.stat().st_size
    count = -(-size // block)
    ids = [base64.b64encode(f"{i:08d}".encode()).decode() for i in range(count)]
    blob = f"{url}/raw.bin"
    local = threading.local()
    headers = {"x-ms-version": X_MS_VERSION}
    fd = os.open(path, os.O_RDONLY)

    def put(index: int) -> None:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        data = os.pread(fd, min(block, size - index * block), index * block)
        response = session.put(
            f"{blob}?{token}&comp=block&blockid={quote(ids[index], safe='')}",
            data=data,
            headers=headers,
        )
        response.raise_for_status()

    try:
        started = time.monotonic()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(put, range(count)))
        body = "<?xml version='1.0' encoding='utf-8'?><BlockList>"
        body += "".join(f"<Latest>{i}</Latest>" for i in ids) + "</BlockList>"
        response = requests.put(f"{blob}?{token}&comp=blocklist", data=body, headers=headers)
        response.raise_for_status()
        return time.monotonic() - started
    finally:
        os.close(fd)
        storage.drop(name)


def sdk_defaults(storage: Storage, path: Path) -> float:
    """azure-storage-blob `upload_blob` with its default settings (4 MiB blocks, concurrency 1)."""
    from azure.storage.blob import BlobClient

    name, url, token = storage.container()
    try:
        blob = BlobClient.from_blob_url(f"{url}/defaults.bin?{token}")
        started = time.monotonic()
        with open(path, "rb") as handle:
            blob.upload_blob(handle, length=path.stat().st_size)
        return time.monotonic() - started
    finally:
        storage.drop(name)


class Ours:
    """`azmodels upload` in a child process, each with its own journal folder."""

    def __init__(self, info: Any, work: Path) -> None:
        self.info = info
        self.work = work
        self.count = 0

    def env(self, cache: Path) -> dict[str, str]:
        return {
            **os.environ,
            "AZMODELS_BENCH_SANDBOX": info_json(self.info),
            "AZMODELS_CACHE_DIR": str(cache),
            "AZMODELS_INTERACTIVE": "0",
            "PYTHONPATH": str(REPO),
        }

    def start(self, source: Path, name: str, cache: Path) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [
                sys.executable,
                str(CHILD),
                "--base-model",
                "gpt-4o",
                "--source",
                str(source),
                "--name",
                name,
            ],
            env=self.env(cache),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )

    def run(self, source: Path, name: str | None = None, cache: Path | None = None) -> dict:
        """One upload to completion: its report figures plus `peak_rss` (bytes)."""
        self.count += 1
        name = name or f"bench-{self.count}-{uuid.uuid4().hex[:6]}"
        cache = cache or self.work / f"cache-{name}"
        child = self.start(source, name, cache)
        out: list[str] = []
        err: list[str] = []
        readers = [
            threading.Thread(target=lambda: out.append(child.stdout.read()), daemon=True),
            threading.Thread(target=lambda: err.append(child.stderr.read()), daemon=True),
        ]
        for reader in readers:
            reader.start()
        polled = 0
        while child.poll() is None:
            polled = max(polled, vm_hwm(child.pid))
            time.sleep(0.02)
        for reader in readers:
            reader.join()
        if child.returncode != 0:
            text = "".join(err)[-2000:]
            raise RuntimeError(f"azmodels upload failed ({child.returncode}): {text}")
        result = json.loads("".join(out).strip().splitlines()[-1])
        # The child's own VmHWM at its end; polling /proc is the cross-check. (wait4's ru_maxrss
        # would count this parent's image, copied by fork before exec.)
        result.update(peak_rss=max(result["vm_hwm"], polled), polled_rss=polled, name=name)
        return result


def cleanup_model(app: Any, name: str) -> None:
    with contextlib.suppress(Exception):
        app.models.delete_version(name, "1", keep_weights=False)


# ----------------------------------------------------------------------------- resume


def journaled_fraction(cache: Path) -> float:
    """Bytes the child's journal says are staged, as a fraction of the upload."""
    total = staged = 0
    for path in (cache / "uploads").glob("*.json"):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for entry in data.get("files", []):
            total += entry["size"]
            if entry.get("committed"):
                staged += entry["size"]
            else:
                staged += min(entry["size"], len(entry.get("block_ids", [])) * entry["block_size"])
    return staged / total if total else 0.0


def resume(ours: Ours, storage: Storage, source: Path, at: float = 0.5) -> dict[str, Any]:
    name = f"bench-resume-{uuid.uuid4().hex[:6]}"
    cache = ours.work / f"cache-{name}"
    child = ours.start(source, name, cache)
    fraction = 0.0
    try:
        deadline = time.monotonic() + 600
        while child.poll() is None and time.monotonic() < deadline:
            fraction = journaled_fraction(cache)
            if fraction >= at:
                break
            time.sleep(0.01)
        if child.poll() is not None:
            raise RuntimeError("the upload ended before it could be killed half-way")
        child.send_signal(signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()
    second = ours.run(source, name=name, cache=cache)
    relative = source.name
    stored = storage.sha256_of(second["blob_uri"], relative)
    return {
        "killed_at": fraction,
        "resent": second["bytes_sent"] / second["total"],
        "skipped": second["bytes_skipped"] / second["total"],
        "stored_sha256": stored,
        "reported_sha256": second["sha256"][relative],
        "name": name,
    }


# ----------------------------------------------------------------------------- folder


def make_folder(root: Path, files: int, size: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        write_safetensors(root / f"model-{i + 1:05d}-of-{files:05d}.safetensors", size)
    return root


def journal_cost(folder: Path, work: Path, samples: int = 50) -> float:
    """Seconds one `mark_committed` takes in a journal of this folder's files (measured apart,
    in a scratch cache dir): each committed small file rewrites and fsyncs the whole journal."""
    from azmodels_magic.clients.blob import block_sizes_for
    from azmodels_magic.sources.local import LocalSource
    from azmodels_magic.uploadstate import UploadJournal

    files = LocalSource(folder).files()
    previous = os.environ.get("AZMODELS_CACHE_DIR")
    os.environ["AZMODELS_CACHE_DIR"] = str(work / "journal-cost")
    try:
        journal = UploadJournal.create(
            "bench|journal-cost|1",
            name="cost",
            version="1",
            source=str(folder),
            pending_upload_id=None,
            container_url="http://127.0.0.1/devstoreaccount1/cost",
            block_size=8 * MIB,
            files=files,
            block_sizes=block_sizes_for(files, 8 * MIB),
        )
        started = time.perf_counter()
        for file in files[:samples]:
            journal.mark_committed(file.relative, "0" * 64)
        seconds = (time.perf_counter() - started) / min(samples, len(files))
        journal.delete()
        return seconds
    finally:
        if previous is None:
            os.environ.pop("AZMODELS_CACHE_DIR", None)
        else:
            os.environ["AZMODELS_CACHE_DIR"] = previous


def folder_defaults(storage: Storage, folder: Path) -> float:
    """Reference: azure-storage-blob defaults, one `upload_blob` after another."""
    from azure.storage.blob import ContainerClient

    name, url, token = storage.container()
    try:
        container = ContainerClient.from_container_url(f"{url}?{token}")
        started = time.monotonic()
        for path in sorted(folder.iterdir()):
            with open(path, "rb") as handle:
                container.upload_blob(path.name, handle, length=path.stat().st_size)
        return time.monotonic() - started
    finally:
        storage.drop(name)


# ----------------------------------------------------------------------------- main


def mbps(size: int, seconds: float) -> float:
    return size / 1e6 / seconds


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.split("\n\n")[0])
    p.add_argument("--size-mib", type=int, help="main file size (default 1024, quick 64)")
    p.add_argument("--big-gib", type=float, help="RSS file size (default 4, quick 0.25)")
    p.add_argument("--rounds", type=int, help="interleaved rounds (default 3, quick 1)")
    p.add_argument(
        "--ceiling",
        nargs="+",
        default=["8x4", "32x4"],
        metavar="MIBxTHREADS",
        help="raw configurations; each round's ceiling is the best of them (default 8x4 32x4)",
    )
    p.add_argument("--folder-files", type=int, help="small files (default 2000, quick 200)")
    args = p.parse_args(argv)
    started = time.monotonic()
    size = (args.size_mib or (64 if args.quick else 1024)) * MIB
    big = int((args.big_gib or (0.25 if args.quick else 4)) * GIB)
    rounds = args.rounds or (1 if args.quick else 3)
    folder_files = args.folder_files or (200 if args.quick else 2000)
    configs = [tuple(int(x) for x in c.lower().split("x")) for c in args.ceiling]

    from _common import app_for, sandbox

    from azmodels_magic.clients.blob import DEFAULT_BLOCK_SIZE, default_workers

    report = Report(title="Upload")
    work = Path(tempfile.mkdtemp(prefix="azmodels-bench-upload-"))
    try:
        with sandbox(provision_seconds=0) as box:
            info = box.info
            storage = Storage(info.blob_endpoint, info.storage_key)
            ours = Ours(info, work)
            app = app_for(info)
            source = write_safetensors(work / "model.safetensors", size)
            expected_sha = sha256_file(source)  # also puts the file in the page cache
            label = f"{size // MIB} MiB" if size < GIB else f"{size / GIB:g} GiB"

            # -- throughput, interleaved; the order rotates each round (no position favoured)
            contenders: list[str] = [f"raw {b}x{n}" for b, n in configs] + ["defaults", "ours"]
            runs: dict[str, list[float]] = {c: [] for c in contenders}
            runs["ceiling"] = []
            ours_runs: list[dict] = []
            for index in range(rounds):
                shift = index % len(contenders)
                for contender in contenders[shift:] + contenders[:shift]:
                    if contender == "defaults":
                        value = mbps(size, sdk_defaults(storage, source))
                    elif contender == "ours":
                        result = ours.run(source)
                        cleanup_model(app, result["name"])
                        ours_runs.append(result)
                        value = mbps(result["bytes_sent"], result["transfer_seconds"])
                    else:
                        b, n = configs[contenders.index(contender)]
                        value = mbps(size, ceiling(storage, source, b * MIB, n))
                    runs[contender].append(value)
                runs["ceiling"].append(max(runs[f"raw {b}x{n}"][-1] for b, n in configs))
                print(
                    f"round {index + 1}: "
                    + ", ".join(f"{c} {runs[c][-1]:.1f}" for c in contenders)
                    + f" MB/s (load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
            vs_ceiling = [o / c for o, c in zip(runs["ours"], runs["ceiling"], strict=True)]
            vs_defaults = [o / d for o, d in zip(runs["ours"], runs["defaults"], strict=True)]
            listed = lambda xs: ", ".join(f"{x:.1f}" for x in xs)  # noqa: E731
            shapes = " / ".join(f"{b} MiB x {n} threads" for b, n in configs)
            report.add(
                f"ceiling: raw Put Block over requests, best of {shapes} ({label})",
                f"{median(runs['ceiling']):.1f} MB/s",
                detail=f"per round {listed(runs['ceiling'])} MB/s; "
                + "; ".join(f"{b} MiB x {n}: {listed(runs[f'raw {b}x{n}'])}" for b, n in configs),
            )
            report.add(
                f"azure-storage-blob upload_blob defaults ({label})",
                f"{median(runs['defaults']):.1f} MB/s",
                detail=f"per round {listed(runs['defaults'])} MB/s",
            )
            first = ours_runs[0]
            walls = [r["wall_seconds"] for r in ours_runs]
            report.add(
                f"azmodels upload ({label}, SHA-256 + registration)",
                f"{median(runs['ours']):.1f} MB/s",
                detail=(
                    f"per round {listed(runs['ours'])} MB/s (transfer); blocks of "
                    f"{first['block_size'] // MIB} MiB, {first['workers']} workers; whole command "
                    f"incl. start-up and registration {median(walls):.1f} s"
                ),
            )
            ratio_c, ratio_d = median(vs_ceiling), median(vs_defaults)
            report.add(
                "ours / ceiling",
                f"{ratio_c:.2f} x",
                ">= 0.95 x",
                ratio_c >= 0.95,
                detail="median of per-round ratios " + ", ".join(f"{x:.2f}" for x in vs_ceiling),
            )
            report.add(
                "ours / defaults",
                f"{ratio_d:.2f} x",
                ">= 1.2 x",
                ratio_d >= 1.2,
                detail="median of per-round ratios " + ", ".join(f"{x:.2f}" for x in vs_defaults),
            )
            if any(r["sha256"]["model.safetensors"] != expected_sha for r in ours_runs):
                report.notes.append("a reported SHA-256 differed from the source's: a bug")

            # -- peak RSS
            rss_small = max(r["peak_rss"] for r in ours_runs)
            report.add(
                f"peak RSS, azmodels upload of {label}",
                f"{rss_small / 1e6:.0f} MB",
                "<= 200 MB",
                rss_small <= RSS_TARGET,
                detail="the child's own VmHWM (the kernel's peak RSS), max of the rounds",
            )
            big_file = write_safetensors(work / "big.safetensors", big, sparse=True)
            try:
                result = ours.run(big_file)
                cleanup_model(app, result["name"])
            finally:
                big_file.unlink()
            big_label = f"{big / GIB:g} GiB"
            report.add(
                f"peak RSS, azmodels upload of {big_label}",
                f"{result['peak_rss'] / 1e6:.0f} MB",
                "<= 200 MB",
                result["peak_rss"] <= RSS_TARGET,
                detail=(
                    f"sparse file (zeros) deleted after; transfer at "
                    f"{mbps(result['bytes_sent'], result['transfer_seconds']):.1f} MB/s; "
                    f"growth over the {label} run {(result['peak_rss'] - rss_small) / 1e6:+.0f} MB"
                ),
            )

            # -- resume after kill -9
            resumed = resume(ours, storage, source)
            report.add(
                f"resume after kill -9 half-way ({label}): bytes re-sent",
                f"{resumed['resent'] * 100:.1f} %",
                "<= 55 %",
                resumed["resent"] <= 0.55,
                detail=(
                    f"killed when the journal showed {resumed['killed_at'] * 100:.1f} % staged; "
                    f"the re-run skipped {resumed['skipped'] * 100:.1f} %"
                ),
            )
            same = resumed["stored_sha256"] == expected_sha == resumed["reported_sha256"]
            report.add(
                "resume: stored SHA-256 = source SHA-256",
                "yes" if same else "NO",
                "yes",
                same,
                detail="the stored blob downloaded again and hashed",
            )
            cleanup_model(app, resumed["name"])

            # -- a folder of many small files
            small = 64 * 1024
            folder = make_folder(work / "shards", folder_files, small)
            result = ours.run(folder)
            cleanup_model(app, result["name"])
            secs = result["transfer_seconds"]
            report.add(
                f"folder of {folder_files} x 64 KiB: azmodels upload",
                f"{secs:.1f} s, {folder_files / secs:.0f} files/s",
                detail=(
                    f"transfer time ({mbps(result['bytes_sent'], secs):.1f} MB/s); the whole "
                    f"command incl. inspecting {folder_files} headers and registration "
                    f"{result['wall_seconds']:.1f} s"
                ),
            )
            per_file = journal_cost(folder, work)
            report.notes.append(
                f"Folder: each small file goes up as one Put Blob and is then marked committed in "
                f"the resume journal, which rewrites and fsyncs the whole journal, under its lock: "
                f"{per_file * 1000:.0f} ms per file with {folder_files} files (measured apart), "
                f"up to {per_file * folder_files:.0f} s for the folder: most of its {secs:.0f} s "
                "transfer, growing with the square of the file count. Throttling "
                "`mark_committed` like `mark_staged` (the journal is only a hint; the service is "
                "checked on resume) would remove most of it."
            )
            ref = folder_defaults(storage, folder)
            report.add(
                f"folder of {folder_files} x 64 KiB: azure-storage-blob, one file after another",
                f"{ref:.1f} s, {folder_files / ref:.0f} files/s",
                detail="reference only: default upload_blob per file, sequential",
            )
            shutil.rmtree(folder, ignore_errors=True)
            app.close()
        report.notes.append(
            f"BlobTransfer defaults: {DEFAULT_BLOCK_SIZE // MIB} MiB blocks, "
            f"{default_workers()} workers on this machine."
        )
        add_causes(report, runs, vs_ceiling)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return finish(report, args, started)


def add_causes(report: Report, runs: dict[str, list[float]], vs_ceiling: list[float]) -> None:
    """Name the cause of a throughput miss from what was measured."""
    for row in report.rows:
        if row.passed is not False:
            continue
        if row.name == "ours / ceiling":
            best = max(runs["ours"]) / max(runs["ceiling"])
            row.cause = f"best-of-rounds ratio {best:.2f}. " + CEILING_CAUSE
        elif row.name == "ours / defaults":
            row.cause = DEFAULTS_CAUSE


# Filled in from the investigation (see BENCHMARKS.md); kept here so a re-run keeps the text.
CEILING_CAUSE = (
    "investigated in-process at a lower load (512 MiB, 2 interleaved rounds): BlobTransfer with "
    "its defaults matches a raw loop of the same shape (8 MiB x 4: 162 vs 162 MB/s). The gap "
    "comes from (1) SHA-256 of every byte on the 2 cores Azurite also needs (about 9 %: 178 MB/s "
    "with hashing stubbed out), (2) the block size: Azurite takes 16-32 MiB blocks 10-15 % faster "
    "than 8 MiB ones (ours at 16 MiB: 187 MB/s) and the ceiling is the best of two shapes each "
    "round, which noisy load also favours, (3) the measured transfer includes the lazy import of "
    "azure-storage-blob and the client set-up in a fresh process. DEFAULT_BLOCK_SIZE was kept at "
    "8 MiB: memory is bounded by (workers + 2) x block, and with 8 workers (machines of 4 cores "
    "or more) 16 MiB blocks would hold 160 MiB and break the 200 MB RSS target; a block size "
    "chosen with the worker count (16 MiB up to 4 workers) is the fix if the gap matters."
)
DEFAULTS_CAUSE = (
    "on loopback Azurite a single stream is already close to what the emulator ingests on 2 cores, "
    "so parallel blocks gain less than over a real network."
)


if __name__ == "__main__":
    sys.exit(main())
