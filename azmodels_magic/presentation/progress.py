"""Progress for long work: tqdm (a widget in Jupyter, text in a terminal), or nothing at all.

`tqdm.auto` picks the notebook widget when running in Jupyter; it is imported on first use.
"""

from __future__ import annotations

import sys
import time
from typing import Any


def _tqdm(**kwargs: Any):
    from tqdm.auto import tqdm

    return tqdm(file=sys.stderr, dynamic_ncols=True, **kwargs)


class ByteProgress:
    """A bytes bar with speed and ETA. Resumed bytes start the bar without counting as speed.

    The bar and the upload's summary share one clock: `seconds` runs from `start()` to the last
    byte, and the bar shows the average speed over that same time (no smoothing), so the speed
    it ends on is `rate`, the one the summary reports."""

    def __init__(self, description: str, *, enabled: bool = True) -> None:
        self.description = description
        self.enabled = enabled
        self.total = 0
        self.skipped = 0
        self.done = 0
        self._bar = None
        self._started = time.monotonic()
        self._last = self._started

    def start(self, total: int) -> None:
        self.total = total
        self._started = self._last = time.monotonic()

    def skip(self, nbytes: int) -> None:
        self.skipped += nbytes

    def update(self, nbytes: int) -> None:
        self.done += nbytes
        self._last = time.monotonic()
        if not self.enabled:
            return
        if self._bar is None:
            self._bar = _tqdm(
                total=self.total,
                initial=self.skipped,
                unit="B",
                unit_scale=True,
                unit_divisor=1000,
                desc=self.description,
                miniters=1,
                smoothing=0,  # the average speed since start(): what the summary says
            )
            # One clock for the bar and `seconds`: tqdm stamps frames with time.time() unless
            # told otherwise, and a monotonic start against wall-clock frames showed elapsed
            # times of 499002 hours on every frame but the last.
            self._bar._time = time.monotonic
            self._bar.start_t = self._bar.last_print_t = self._started
        self._bar.update(nbytes)

    @property
    def seconds(self) -> float:
        """From start() to the last byte sent."""
        return max(self._last - self._started, 0.0)

    @property
    def rate(self) -> float | None:
        """Bytes per second sent (resumed bytes excluded), as the bar shows it at the end."""
        return self.done / self.seconds if self.done and self.seconds > 0 else None

    def close(self) -> None:
        if self._bar is not None:
            # The final refresh is stamped at the last byte's time: the bar ends on `rate`.
            last = self._last
            self._bar._time = lambda: last
            self._bar.close()
            self._bar = None

    def __enter__(self) -> ByteProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# Where a long-running operation's state puts its bar, out of STAGES steps: the request is in
# (1), accepted (2), the service is working on it (3), done (4). States not named here count as
# "working": the bar never goes backwards and fills only when the operation has succeeded.
STAGES = 4
_STAGE_OF = {
    "accepted": 2,
    "notstarted": 2,
    "creating": 3,
    "updating": 3,
    "deleting": 3,
    "moving": 3,
    "inprogress": 3,
    "running": 3,
    "succeeded": STAGES,
    "deleted": STAGES,
}


class StatusProgress:
    """A long-running operation's state (Accepted -> Creating -> Succeeded) beside a bar that
    fills by stage, and is full exactly when the operation has succeeded.

    The bar appears with the first state (a request refused before it is sent shows none); when
    the block ends without an exception the bar is filled, so "Succeeded" never sits beside an
    empty or partial bar; after an exception it stays where it was (red in a notebook)."""

    def __init__(self, description: str, *, enabled: bool = True) -> None:
        self.description = description
        self.enabled = enabled
        self.states: list[str] = []
        self.stage = 0
        self._bar = None

    def __call__(self, state: str) -> None:
        if not self.states or self.states[-1] != state:
            self.states.append(state)
        self.stage = max(self.stage, _STAGE_OF.get(state.lower(), 3))
        self._show(state)

    def _show(self, state: str) -> None:
        if not self.enabled:
            return
        text = f"{self.description}: {state}"
        if self._bar is None:
            self._bar = _tqdm(total=STAGES, desc=text, bar_format="{desc} {bar} [{elapsed}]")
        else:
            self._bar.set_description_str(text, refresh=False)
        self._bar.update(self.stage - self._bar.n)  # refreshes

    @property
    def fraction(self) -> float:
        """How full the bar is: 0.0 before any state, 1.0 once the operation succeeded."""
        return self.stage / STAGES

    def finish(self) -> None:
        """The operation succeeded: a full bar, beside the last state (or "Succeeded")."""
        if self.stage == STAGES or not self.states:
            self.stage = STAGES
            if self._bar is not None:
                self._bar.update(STAGES - self._bar.n)
            return
        last = self.states[-1]
        done = last if _STAGE_OF.get(last.lower()) == STAGES else "Succeeded"
        self.stage = STAGES
        if done != last:
            self.states.append(done)
        self._show(done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> StatusProgress:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.finish()
        self.close()
