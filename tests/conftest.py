"""Shared fixtures: an IPython shell with the extension, and sandboxes over real HTTP."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _isolated_user_state(tmp_path_factory):
    """Journals go to a temp cache, and nothing waits for a person to type."""
    os.environ["AZMODELS_CACHE_DIR"] = str(tmp_path_factory.mktemp("azmodels-cache"))
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


def start_app(**options):
    """An AzModels connected to a new sandbox: small pages, fast provisioning, quick polls."""
    from azmodels_magic import AzModels

    settings = {"progress": False, "poll_interval": 0.1, "retry_backoff": 0.05}
    sandbox = {"page_size": 5, "provision_seconds": 0.5}
    for key, value in options.items():
        (sandbox if key in ("page_size", "provision_seconds", "fault_rate", "seed",
                            "catalog_size", "data_dir") else settings)[key] = value  # fmt: skip
    return AzModels.sandbox(**sandbox, **settings)


@pytest.fixture(scope="module")
def app():
    """A fresh sandbox per test module (state does not leak between modules)."""
    az = start_app()
    yield az
    az.close()
