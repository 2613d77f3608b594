"""Shared fixtures: an IPython shell with the extension, and the sandbox over real HTTP."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    ipython = InteractiveShell.instance()
    ipython.run_line_magic("load_ext", "azmodels_magic")
    return ipython
