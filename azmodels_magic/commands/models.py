"""The model commands: list, show."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..cache import bulk_objects
from ..presentation.tables import models_frame
from ..rules import TYPES, version
from . import Outcome
from .table import Argument, Kind, Output, command

if TYPE_CHECKING:
    import argparse

    from .app import App


@command(
    "list", "list base (catalog) and custom models as one table",
    Argument("--type", "which models", choices=(*TYPES, "all"), default="all"),
    Argument("--query", "case-insensitive filter on name/publisher", metavar="PATTERN"),
    output=Output.FORMAT,
)  # fmt: skip
def list_models(app: App, args: argparse.Namespace) -> Outcome:
    with bulk_objects():
        found = app.models.list(type=args.type, query=args.query)
        frame = models_frame(found.models, args.type)
    return Outcome(value=frame, message=found.summary())


@command(
    "show", "details of a model (custom first, then base)",
    Argument("--name", "model name", kind=Kind.MODEL, metavar="NAME", required=True,
             positional=True),
    Argument("--type", "pick base or custom when a name is in both", choices=TYPES),
    Argument("--version", "a specific version", kind=Kind.VERSION, type=version),
    output=Output.FORMAT,
)  # fmt: skip
def show_model(app: App, args: argparse.Namespace) -> Outcome:
    details = app.models.show(args.name, type=args.type, version=args.version)
    return Outcome(value=details)
