"""azmodels: manage Azure AI Foundry models end to end from Jupyter, a terminal or Python.

`%load_ext azmodels_magic` registers `%azmodels`; it imports nothing heavy (pandas, azure,
ipywidgets and tqdm load on first use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["AzModels", "__version__", "get_app", "load_ipython_extension"]

if TYPE_CHECKING:
    from .api import AzModels


def load_ipython_extension(ipython: Any) -> None:
    # Here, not at the top: `import azmodels_magic` (the CLI, the sandbox) must not load IPython.
    from .completion import register
    from .magics import AzModelsMagics
    from .presentation.display import install
    from .steps import NOTEBOOK

    magics = AzModelsMagics(ipython)
    ipython.register_magics(magics)
    register(ipython, magics)  # %azmodels <TAB>: commands, flags, names
    # Status colours for our DataFrames (registered by name: no pandas import), records as cards.
    install(ipython, NOTEBOOK.write)


def unload_ipython_extension(ipython: Any) -> None:
    # Here for the same reason as in load_ipython_extension.
    from .completion import unregister
    from .presentation.display import uninstall

    unregister(ipython)
    uninstall(ipython)
    for configurable in list(ipython.configurables):
        if type(configurable).__name__ == "AzModels":
            configurable.close()
            ipython.configurables.remove(configurable)


def get_app() -> AzModels:
    """The AzModels behind `%azmodels` in this IPython session (same settings and connection)."""
    from IPython import get_ipython

    shell = get_ipython()
    for configurable in getattr(shell, "configurables", []):
        if type(configurable).__name__ == "AzModels":
            return configurable
    raise RuntimeError("%azmodels is not loaded here: run `%load_ext azmodels_magic` first.")


def __getattr__(name: str) -> Any:
    if name == "AzModels":
        from .api import AzModels  # on first use: `import azmodels_magic` stays light

        return AzModels
    raise AttributeError(name)
