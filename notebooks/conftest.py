"""The tutorial notebooks run under `pytest --nbval` (pyproject's addopts turns it on).

Their stored outputs are compared with fresh ones after the substitutions of nbval_sanitize.cfg,
which is passed here (as `--nbval-sanitize-with`) so it is found from any working directory.
"""

from __future__ import annotations

from pathlib import Path

SANITIZE = Path(__file__).with_name("nbval_sanitize.cfg")


def pytest_configure(config) -> None:
    option = config.option
    if hasattr(option, "nbval_sanitize_with") and not option.nbval_sanitize_with:
        option.nbval_sanitize_with = str(SANITIZE)
