"""Child process of benchmarks/upload.py: one `azmodels upload` through the real service path.

It attaches to the benchmark's sandbox (its JSON line in $AZMODELS_BENCH_SANDBOX) and runs the
same `execute(["upload", ...])` the CLI and the magic run: format inspection, name checks, upload
slot, BlobTransfer with SHA-256, verification, registration and its wait. It prints one JSON
line with the UploadReport's figures and its own peak RSS (VmHWM); it imports nothing more than
the command needs.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def vm_hwm() -> int:
    """This process's peak RSS in bytes: the kernel's high-water mark of its own address space
    (reset at exec, so the parent's image before exec does not count, unlike wait4's rusage)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def main(argv: list[str]) -> int:
    started = time.monotonic()
    from azmodels_magic import AzModels
    from azmodels_magic.sandbox_launcher import SandboxInfo

    app = AzModels(progress=False)
    app.use_sandbox(SandboxInfo.from_json(os.environ["AZMODELS_BENCH_SANDBOX"]))
    outcome = app.execute(["upload", *argv, "--no-progress"])
    report = outcome.value
    print(
        json.dumps(
            {
                "bytes_sent": report.bytes_sent,
                "bytes_skipped": report.bytes_skipped,
                "transfer_seconds": report.seconds,
                "wall_seconds": time.monotonic() - started,
                "sha256": report.sha256,
                "files": len(report.plan.info.files),
                "total": report.plan.info.total_size,
                "block_size": report.plan.block_size,
                "workers": report.plan.workers,
                "blob_uri": report.model.blob_uri,
                "message": outcome.message,
                "vm_hwm": vm_hwm(),
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
