"""Work on daemon threads: a call still waiting on a network that never answers must not keep the
process alive after the command is done (ThreadPoolExecutor's workers are joined at exit)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

R = TypeVar("R")


class Task(Generic[R]):
    """One call running on its own daemon thread."""

    def __init__(self, work: Callable[..., R], *args: Any, name: str = "azmodels") -> None:
        self._done = threading.Event()
        self._result: R | None = None
        self._error: BaseException | None = None
        self._work, self._args = work, args
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def _run(self) -> None:
        try:
            self._result = self._work(*self._args)
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc
        finally:
            self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def done(self) -> bool:
        return self._done.is_set()

    def exception(self) -> BaseException | None:
        return self._error

    def result(self) -> R:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]
