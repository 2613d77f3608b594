"""Status colours: the same word has the same colour in cards, tables and the dashboard."""

from __future__ import annotations

STATUS_COLOURS = {
    "running": "#107c10",
    "ready": "#107c10",
    "succeeded": "#107c10",
    "generallyavailable": "#107c10",
    "stable": "#107c10",
    "creating": "#8a6d00",
    "registering": "#8a6d00",
    "updating": "#8a6d00",
    "preview": "#8a6d00",
    "deleting": "#a4262c",
    "failed": "#a4262c",
    "deprecating": "#a4262c",
    "deprecated": "#a4262c",
    "retired": "#a4262c",
    "legacy": "#605e5c",
    "stopped": "#605e5c",
}


def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(str(status).lower(), "#323130")
