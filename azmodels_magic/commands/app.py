"""What a command handler needs from the facade that runs it.

The handlers name what they use here instead of importing `AzModels`: `api` imports `commands`
to run them, so an import back (even one made only for annotations) would tie the two modules
into one. `AzModels` is an `App`; so is anything else with these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ..presentation.actions import Actions

if TYPE_CHECKING:
    from ..auth import TokenCredential
    from ..connection import Connection
    from ..sandbox_launcher import SandboxInfo
    from ..services.uploads import UploadService


class App(Actions, Protocol):
    """The services and session a command reads and changes (besides what a form reads)."""

    progress: bool  # show progress bars
    detach_sandbox: bool  # the terminal's sandbox outlives the `azmodels` process

    @property
    def uploads(self) -> UploadService: ...

    @property
    def connection(self) -> Connection: ...

    @property
    def credential(self) -> TokenCredential | None: ...

    def set_connection(
        self, *, credential: TokenCredential | None = ..., **settings: Any
    ) -> None: ...

    def connection_summary(self) -> dict[str, str]: ...

    def start_sandbox(self, **options: Any) -> SandboxInfo: ...

    def attach_sandbox(self, url: str) -> SandboxInfo: ...

    def stop_sandbox(self) -> bool: ...

    def sandbox_status(self) -> dict[str, str]: ...
