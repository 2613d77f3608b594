"""Helpers for tests in every folder (importable by name: pytest puts tests/ on sys.path)."""

from __future__ import annotations


def start_app(**options):
    """An AzModels connected to a new sandbox: small pages, fast provisioning, quick polls."""
    from azmodels_magic import AzModels

    settings = {"progress": False, "poll_interval": 0.1, "retry_backoff": 0.05}
    sandbox = {"page_size": 5, "provision_seconds": 0.5}
    for key, value in options.items():
        (sandbox if key in ("page_size", "provision_seconds", "fault_rate", "seed",
                            "catalog_size", "data_dir") else settings)[key] = value  # fmt: skip
    return AzModels.sandbox(**sandbox, **settings)
