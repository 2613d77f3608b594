"""How long work reports progress to whoever shows it: a small callback protocol.

Services take a `TransferProgress` and call it; they never draw anything. A front end passes
the presentation's bar (`presentation.progress.ByteProgress`, tqdm underneath), a test a list,
and nobody anything at all when progress is off.
"""

from __future__ import annotations

from typing import Protocol


class TransferProgress(Protocol):
    """Bytes of a transfer as they go. Calls are serialised: no method needs to be thread-safe."""

    def start(self, total: int) -> None:
        """Once, first: the bytes the whole transfer covers."""

    def skip(self, nbytes: int) -> None:
        """At most once, before any update: bytes an earlier run already stored."""

    def update(self, nbytes: int) -> None:
        """Bytes just stored."""
