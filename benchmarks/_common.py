"""Shared pieces of the benchmarks: results, machine facts, a sandbox, timing and memory helpers.

Every benchmark script prints its table and, with --json PATH, writes a `Report` that
run_all.py turns into BENCHMARKS.md. Nothing here is imported by the package or the tests.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

MIB = 1024 * 1024
GIB = 1024 * MIB


@dataclass
class Row:
    """One measured figure: what, the value (as text), the target, and pass/miss."""

    name: str
    value: str
    target: str = ""
    passed: bool | None = None  # None: informational, no target
    cause: str = ""  # for a miss: why
    detail: str = ""  # how it was measured

    @property
    def verdict(self) -> str:
        return {True: "pass", False: "**miss**", None: "-"}[self.passed]


@dataclass
class Report:
    """The result of one benchmark script."""

    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    quick: bool = False
    load: str = ""
    versions: dict[str, str] = field(default_factory=dict)  # of tools measured against

    def add(self, *args: Any, **kwargs: Any) -> Row:
        row = Row(*args, **kwargs)
        self.rows.append(row)
        return row

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        rows = [Row(**r) for r in data.pop("rows", [])]
        return cls(rows=rows, **data)

    def markdown(self) -> str:
        lines = [
            "| figure | measured | target | result |",
            "|---|---|---|---|",
        ]
        for r in self.rows:
            lines.append(f"| {r.name} | {r.value} | {r.target or '-'} | {r.verdict} |")
        out = "\n".join(lines)
        details = [f"- {r.name}: {r.detail}" for r in self.rows if r.detail]
        if details:
            out += "\n\nHow each figure was taken:\n\n" + "\n".join(details)
        misses = [r for r in self.rows if r.passed is False]
        if misses:
            out += "\n\nCauses of the misses:\n\n" + "\n".join(
                f"- **{r.name}**: {r.cause or 'not analysed'}" for r in misses
            )
        if self.notes:
            out += "\n\nNotes:\n\n" + "\n".join(f"- {n}" for n in self.notes)
        return out

    def text(self) -> str:
        width = max((len(r.name) for r in self.rows), default=10)
        lines = [f"== {self.title} ({self.seconds:.0f} s{', quick' if self.quick else ''})"]
        for r in self.rows:
            lines.append(
                f"  {r.name:<{width}}  {r.value:>22}  target {r.target or '-':<16} {r.verdict}"
            )
            if r.passed is False and r.cause:
                lines.append(f"      cause: {r.cause}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="small smoke sizes (a minute or so)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    return p


def finish(report: Report, args: argparse.Namespace, started: float) -> int:
    report.seconds = time.monotonic() - started
    report.quick = bool(args.quick)
    report.load = load_text()
    print(report.text(), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_json(), indent=2))
    return 0


def load_text() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return ""
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


# ----------------------------------------------------------------------------- machine


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    node = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        node = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, timeout=20
        ).stdout.strip()
    azurite = ""
    with contextlib.suppress(OSError, ValueError):
        azurite = json.loads((REPO / "node_modules/azurite/package.json").read_text())["version"]
    versions = {}
    for dist in ("azure-storage-blob", "requests", "pandas", "ipython"):
        try:
            from importlib.metadata import version

            versions[dist] = version(dist)
        except Exception:
            versions[dist] = "?"
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": ram,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Node": node or "?",
        "Azurite": azurite or "?",
        **versions,
    }


# ----------------------------------------------------------------------------- sandbox


@contextlib.contextmanager
def sandbox(**options: Any) -> Iterator[Any]:
    """A sandbox child process (with its Azurite) in a temporary data dir, stopped after."""
    from azmodels_magic.sandbox_launcher import SandboxProcess

    data = tempfile.mkdtemp(prefix="azmodels-bench-")
    process = SandboxProcess(data_dir=data, **options)
    try:
        process.start(timeout=120)
        yield process
    finally:
        process.stop()
        import shutil

        shutil.rmtree(data, ignore_errors=True)


def info_json(info: Any) -> str:
    return json.dumps(asdict(info))


def app_for(info: Any, **settings: Any) -> Any:
    """An AzModels connected to a running sandbox (quiet, no progress bars)."""
    from azmodels_magic import AzModels

    app = AzModels(progress=False, **settings)
    app.use_sandbox(info)
    return app


# ----------------------------------------------------------------------------- numbers


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.1 else f"{seconds * 1000:.1f} ms"


def vm_hwm(pid: int) -> int:
    """The peak RSS so far of a live process, in bytes (0 if it is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) * 1024 if match else 0


# ----------------------------------------------------------------------------- request log


@dataclass(frozen=True)
class Logged:
    """One request as the sandbox logged it."""

    method: str
    path: str
    status: int
    ms: float
    ended: float  # epoch seconds the line was written (just after the response went out)

    @property
    def began(self) -> float:
        return self.ended - self.ms / 1000


class RequestLog:
    """The sandbox's own log of the requests it answered: one INFO line each (method, path, status,
    latency) in sandbox.log of its data dir. Counting there, not in the client, counts what really
    reached the service, retries included."""

    LINE = re.compile(
        r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) INFO azmodels_magic\.sandbox\.server: "
        r"(GET|PUT|POST|PATCH|DELETE|HEAD) (\S+) (\d{3}) ([\d.]+)ms$"
    )

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def mark(self, settle: float = 0.3) -> int:
        """The log's end, once it has stopped growing (a line is written after its response is
        sent, so the last request of a window can still be on its way to the file)."""
        size = -1
        while True:
            now = self.path.stat().st_size
            if now == size:
                return now
            size = now
            time.sleep(settle)

    def since(self, mark: int) -> list[Logged]:
        """The requests logged after `mark` (waits for the log to settle first)."""
        end = self.mark()
        with open(self.path, "rb") as handle:
            handle.seek(mark)
            text = handle.read(end - mark).decode(errors="replace")
        found = []
        for line in text.splitlines():
            match = self.LINE.search(line)
            if match:
                stamp, millis, method, path, status, ms = match.groups()
                # logging's asctime is local time
                ended = time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S")) + int(millis) / 1000
                found.append(Logged(method, path, int(status), float(ms), ended))
        return found


# ----------------------------------------------------------------------------- child processes


@dataclass
class Measured:
    """A child process run to its end: wall time, CPU time from wait4's rusage, its output."""

    wall: float
    user: float
    sys: float
    returncode: int
    stdout: str
    stderr: str
    started_at: float  # epoch seconds just before the fork

    @property
    def cpu(self) -> float:
        return self.user + self.sys


def run_measured(command: list[str], **popen: Any) -> Measured:
    """Run `command` to its end. The wall time runs from just before the fork to the reaped exit;
    the CPU time is the child's own user + sys from os.wait4 (its children's too, once reaped)."""
    import threading

    started_at = time.time()
    started = time.perf_counter()
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen
    )
    out: list[str] = []
    err: list[str] = []
    readers = [
        threading.Thread(target=lambda: out.append(child.stdout.read()), daemon=True),
        threading.Thread(target=lambda: err.append(child.stderr.read()), daemon=True),
    ]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    for reader in readers:
        reader.join()
    return Measured(
        wall,
        usage.ru_utime,
        usage.ru_stime,
        child.returncode,
        "".join(out),
        "".join(err),
        started_at,
    )
