"""The sandbox is a separate wing: it runs, serves its routes and registers a model with every
client module of the package made unimportable, and it ignores the client's private manifest.
"""

from __future__ import annotations

import sys

from sandbox_support import PAGE_SIZE, PROVISION_SECONDS, Api

from azmodels_magic.sandbox.protocol import INFO_PATH
from azmodels_magic.sandbox_launcher import SandboxProcess

# Runs before the sandbox: any module of the package outside azmodels_magic.sandbox fails to load.
_WALL = """
import importlib.abc, runpy, sys

class Wall(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        wing = name == "azmodels_magic.sandbox" or name.startswith("azmodels_magic.sandbox.")
        if name.startswith("azmodels_magic.") and not wing:
            raise ImportError(f"the sandbox imported client module {name}")
        return None

sys.meta_path.insert(0, Wall())
sys.argv = ["azmodels_magic.sandbox", *sys.argv[1:]]
runpy.run_module("azmodels_magic.sandbox", run_name="__main__", alter_sys=True)
"""


class WalledSandbox(SandboxProcess):
    def command(self) -> list[str]:
        serve = super().command()
        return [sys.executable, "-c", _WALL, *serve[serve.index("serve") :]]


def test_the_sandbox_runs_without_any_client_module() -> None:
    sandbox = WalledSandbox(provision_seconds=PROVISION_SECONDS, page_size=PAGE_SIZE)
    info = sandbox.start(timeout=60)
    try:
        api = Api(info)
        assert api.session.get(info.arm_endpoint + INFO_PATH).json()["pid"] == info.pid
        models, _ = api.list_all(api.catalog)
        assert models, "the catalog is empty"
        # a registration: upload slot, SAS upload to Azurite, createAsync, operation
        accepted = api.upload_model(
            "walled", "1", {"model.bin": b"\x00" * 64, "azmodels-manifest.json": b'{"files": 1}'}
        )
        assert accepted.status_code == 202, accepted.text
        assert api.wait_operation(accepted.headers["Location"])["status"] == "Succeeded"
        deployed = api.deploy("walled-dep", {"format": "OpenAI", "name": "gpt-4o"}, "Standard", 1)
        assert deployed.status_code in (200, 201), deployed.text
    finally:
        sandbox.stop()
