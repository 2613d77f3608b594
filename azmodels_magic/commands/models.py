"""Handlers of the model commands: list, show."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..cache import bulk_objects
from ..presentation.tables import models_frame
from . import Outcome

if TYPE_CHECKING:
    import argparse

    from ..api import AzModels


def list_models(app: AzModels, args: argparse.Namespace) -> Outcome:
    with bulk_objects():
        found = app.models.list(type=args.type, query=args.query)
        frame = models_frame(found.models, args.type)
    return Outcome(value=frame, message=found.summary())


def show_model(app: AzModels, args: argparse.Namespace) -> Outcome:
    details = app.models.show(args.name, type=args.type, version=args.version)
    return Outcome(value=details)
