"""The uploading process test_crashes.py kills with SIGKILL.

    python crash_child.py ARM_URL SOURCE NAME VERSION POINT [EXTRA UPLOAD ARGS...]

Attaches to the sandbox at ARM_URL and runs `upload` (small blocks, so there are many). At POINT
it prints "PAUSED <point>" and sleeps until killed; the parent waits for that line, so each kill
lands exactly where it is meant to, with no hook in the package itself:

- blocks:     after the third block is staged (journaled), the rest still to send
- copy-blocks: (a remote source, copied server side) after exactly three blocks are staged
              from the source's URL; no other block is started
- committed:  every block committed, not verified yet
- register:   weights stored and verified, registration not asked for
- swap:       (an --overwrite) the new weights stored, the old registration deleted, the new
              one not asked for yet
- polling:    registration accepted (createAsync answered 202), its operation still polled
- gate-register: weights stored and verified; waits for a line on stdin, then registers
- gate-swap:  (an --overwrite) the new weights stored and verified, the old registration not yet
              touched; waits for a line on stdin, then swaps
- none:       no pause: run to the end
"""

from __future__ import annotations

import os
import sys
import time


def pause(point: str) -> None:
    print(f"PAUSED {point}", flush=True)
    while True:
        time.sleep(60)


def gate(point: str) -> None:
    print(f"PAUSED {point}", flush=True)
    sys.stdin.readline()


def install(point: str) -> None:
    from azmodels_magic.clients.foundry import FoundryClient, Registration
    from azmodels_magic.services.uploads import UploadService
    from azmodels_magic.uploadstate import UploadJournal

    if point == "blocks":
        original = UploadJournal.mark_staged
        count = [0]

        def mark_staged(self, relative, block_id, *args):
            original(self, relative, block_id, *args)
            count[0] += 1
            if count[0] == 3:
                self.flush()  # what the throttled writer would have written by now
                pause(point)

        UploadJournal.mark_staged = mark_staged
    elif point == "copy-blocks":
        import threading

        from azure.storage.blob import BlobClient

        stage = BlobClient.stage_block_from_url
        lock, started, staged = threading.Lock(), [0], [0]

        def three_then_pause(self, *args, **kwargs):
            with lock:
                started[0] += 1
                mine = started[0]
            if mine > 3:
                while True:  # never staged: the kill comes first
                    time.sleep(60)
            result = stage(self, *args, **kwargs)
            with lock:
                staged[0] += 1
                last = staged[0] == 3
            if last:
                pause(point)
            return result

        BlobClient.stage_block_from_url = three_then_pause
    elif point == "committed":
        UploadService._verify = lambda self, *a, **k: pause(point)
    elif point == "register":
        UploadService._register = lambda self, *a, **k: pause(point)
    elif point == "gate-register":
        register = UploadService._register

        def gated(self, *args, **kwargs):
            gate(point)
            return register(self, *args, **kwargs)

        UploadService._register = gated
    elif point == "gate-swap":
        swap = UploadService._swap

        def gated_swap(self, *args, **kwargs):
            gate(point)
            return swap(self, *args, **kwargs)

        UploadService._swap = gated_swap
    elif point == "swap":
        FoundryClient.create_async = lambda self, *a, **k: pause(point)
    elif point == "polling":
        # The registration's wait (Registration.wait: the operation, then the version).
        Registration.wait = lambda self, *a, **k: pause(point)
    elif point != "none":
        raise SystemExit(f"unknown point {point}")


def main() -> int:
    url, source, name, version, point = sys.argv[1:6]
    extra = sys.argv[6:]
    install(point)
    from azmodels_magic import AzModels

    app = AzModels(progress=False, poll_interval=0.1, retry_backoff=0.05)
    app.attach_sandbox(url)
    # CRASH_BLOCK_SIZE: smaller blocks for a small source (the sandbox hub's 96 KiB weights).
    block_size = int(os.environ.get("CRASH_BLOCK_SIZE", 256 * 1024))
    app.uploads.block_size, app.uploads.workers = block_size, 2
    outcome = app.execute(
        ["upload", "--base-model", "gpt-4o", "--source", source, "--name", name,
         "--version", version, "--no-progress", *extra]
    )  # fmt: skip
    print(outcome.message, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
