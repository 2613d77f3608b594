"""Child process of benchmarks/import_copy.py: one server-side copy with BlobCopy.

It reads its job as one JSON line in $AZMODELS_BENCH_COPY (destination container SAS URL, blob
name, source SAS URL, size, ETag; optionally block size and workers, for tuning), copies with
`BlobCopy` (Put Block From URL in parallel ranges, each conditional on the source's ETag, then
Put Block List) and prints one JSON line with the CopyResult's figures and the copy's own time.
It imports nothing more than the copy needs, as `upload --source <blob URL>` would.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    started = time.monotonic()
    job = json.loads(os.environ["AZMODELS_BENCH_COPY"])
    from azmodels_magic.clients.copy import BlobCopy

    copier = BlobCopy(block_size=job.get("block_size"), max_workers=job.get("workers"))
    began = time.monotonic()
    result = copier.copy(
        job["sas_url"], job["blob"], job["source_url"], job["size"], source_etag=job["etag"]
    )
    ended = time.monotonic()
    print(
        json.dumps(
            {
                "size": result.size,
                "blocks": result.blocks,
                "bytes_copied": result.bytes_copied,
                "block_size": copier.block_size,
                "workers": copier.max_workers,
                "copy_seconds": ended - began,
                "startup_seconds": began - started,
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
