"""Shared fixtures: an IPython shell with the extension, and sandboxes over real HTTP."""

from __future__ import annotations

import os

import pytest
from azmodels_support import start_app


@pytest.fixture(scope="session", autouse=True)
def _isolated_user_state(tmp_path_factory):
    """Journals and the terminal sandbox's state go to temp folders; nothing waits for a person."""
    os.environ["AZMODELS_CACHE_DIR"] = str(tmp_path_factory.mktemp("azmodels-cache"))
    os.environ["AZMODELS_DATA_DIR"] = str(tmp_path_factory.mktemp("azmodels-data"))
    os.environ["AZMODELS_INTERACTIVE"] = "0"
    for name in ("AZURE_PROJECT_ENDPOINT", "AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP_NAME",
                 "AZURE_ACCOUNT_NAME", "AZURE_PROJECT_NAME", "AZURE_LOCATION"):  # fmt: skip
        os.environ.pop(name, None)


@pytest.fixture(scope="session")
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    ipython = InteractiveShell.instance()
    ipython.run_line_magic("load_ext", "azmodels_magic")
    return ipython


@pytest.fixture(scope="module")
def app():
    """A fresh sandbox per test module (state does not leak between modules)."""
    az = start_app()
    yield az
    az.close()
