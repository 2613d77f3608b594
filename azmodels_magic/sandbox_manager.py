"""The sandbox process an `AzModels` started or attached to: start, attach, stop, status.

Spawning and discovering are `sandbox_launcher`'s; this keeps the one process of a session and
says how it is doing. Pointing the settings at it is the facade's (`AzModels.use_sandbox`).
"""

from __future__ import annotations

import os
from typing import Any

from .http.origin import ensure_secure
from .sandbox_launcher import SandboxInfo, SandboxProcess, discover, stop_remembered


class SandboxManager:
    """At most one sandbox process per session, stopped when the session closes."""

    def __init__(self) -> None:
        self.process: SandboxProcess | None = None  # started here (None: attached, or none)
        # The terminal front end sets this: its sandbox must outlive the `azmodels` process.
        self.detach = False

    def start(self, **options: Any) -> SandboxInfo:
        """Start a sandbox in the background (the caller stops the previous one first)."""
        options = {k: v for k, v in options.items() if v is not None}
        process = SandboxProcess(detach=self.detach, **options)
        info = process.start()
        if not self.detach:
            self.process = process
        return info

    @staticmethod
    def attach(url: str) -> SandboxInfo:
        """A sandbox already running at `url` (its ARM endpoint)."""
        # Decided as the HTTP library connects, before even the unauthenticated info request.
        ensure_secure(url if "://" in url else f"http://{url}", what="sandbox address")
        return discover(url)

    def stop(self) -> bool:
        """Stop the sandbox started here (a detached one: the one remembered); False if none."""
        process, self.process = self.process, None
        if process is not None:
            process.stop()
            return True
        return self.detach and stop_remembered()

    def status(self, info: SandboxInfo) -> dict[str, str]:
        if self.process is not None:
            running = self.process.running
        else:
            try:
                os.kill(info.pid, 0)
                running = True
            except OSError:
                running = False
        return {
            "ARM endpoint": info.arm_endpoint,
            "project endpoint": info.project_endpoint,
            "blob endpoint": info.blob_endpoint,
            "data dir": info.data_dir,
            "pid": str(info.pid),
            "started here": "yes" if self.process else "no (attached)",
            "running": "yes" if running else "no",
        }
