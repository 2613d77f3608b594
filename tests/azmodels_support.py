"""Helpers for tests in every folder (importable by name: pytest puts tests/ on sys.path)."""

from __future__ import annotations

from typing import Any

# Keywords of SandboxProcess; everything else is an AzModels setting.
SANDBOX_OPTIONS = {
    "data_dir", "port", "fault_rate", "seed", "provision_seconds", "catalog_size", "page_size",
    "extra_args",
}  # fmt: skip


def start_app(*, sandbox: dict[str, Any] | None = None, **options: Any):
    """An AzModels connected to a new sandbox: small pages, fast provisioning, quick polls.

    Sandbox options may come in `sandbox` or as keywords (page_size=2); the rest are settings.
    """
    from azmodels_magic import AzModels

    sandbox = {"page_size": 5, "provision_seconds": 0.5, **(sandbox or {})}
    settings = {"progress": False, "poll_interval": 0.1, "retry_backoff": 0.05}
    for key, value in options.items():
        (sandbox if key in SANDBOX_OPTIONS else settings)[key] = value
    app = AzModels(**settings)
    try:
        app.start_sandbox(**sandbox)
    except BaseException:
        app.close()
        raise
    return app
