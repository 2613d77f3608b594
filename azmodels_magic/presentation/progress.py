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
    """A bytes bar with speed and ETA. Resumed bytes start the bar without counting as speed."""

    def __init__(self, description: str, *, enabled: bool = True) -> None:
        self.description = description
        self.enabled = enabled
        self.total = 0
        self.skipped = 0
        self.done = 0
        self._bar = None
        self._started = time.monotonic()

    def start(self, total: int) -> None:
        self.total = total

    def skip(self, nbytes: int) -> None:
        self.skipped += nbytes

    def update(self, nbytes: int) -> None:
        self.done += nbytes
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
            )
        self._bar.update(nbytes)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> ByteProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StatusProgress:
    """Shows a long-running operation's state (Accepted -> Creating -> Succeeded) as it moves."""

    def __init__(self, description: str, *, enabled: bool = True) -> None:
        self.description = description
        self.enabled = enabled
        self.states: list[str] = []
        self._bar = None

    def __call__(self, state: str) -> None:
        if not self.states or self.states[-1] != state:
            self.states.append(state)
        if not self.enabled:
            return
        text = f"{self.description}: {state}"
        if self._bar is None:
            self._bar = _tqdm(total=None, desc=text, bar_format="{desc} [{elapsed}]")
        else:
            self._bar.set_description_str(text, refresh=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> StatusProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
