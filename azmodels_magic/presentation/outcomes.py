"""How a finished command ends: ✓ lines for what was done, then the next steps as commands,
written in the front end's syntax (`%azmodels ...`, `azmodels ...`, Python).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..results.models import deploy_step
from ..sizes import human_rate, human_size
from ..steps import NextStep, Syntax
from ..wording import plural

if TYPE_CHECKING:
    from ..results.uploads import UploadReport

DONE = "✓"


def next_steps(steps: Sequence[NextStep], syntax: Syntax) -> list[str]:
    """'Next steps' and one aligned line per step: what it is for, the command in `syntax`."""
    if not steps:
        return []
    width = max(len(step.what) for step in steps) + 1
    return [
        "Next steps",
        *(f"  {(step.what + ':').ljust(width)}  {syntax(step)}" for step in steps),
    ]


def upload_steps(report: UploadReport) -> tuple[NextStep, ...]:
    """What to do with a registered upload: deploy it, see its details."""
    model = report.model
    return (
        deploy_step(model, what="Deploy it"),
        NextStep.of("show", model.name, version=model.version, what="Details"),
    )


def upload_done(report: UploadReport) -> str:
    """✓ Upload complete (files, size, time and the bar's speed), ✓ Model registered, and which
    deployments now serve the new weights (the next steps follow: `upload_steps`)."""
    info = report.plan.info
    model = report.model
    what = f"{plural(len(info.files), 'file')} ({human_size(info.total_size)})"
    if report.plan.copied:  # storage fetched them itself from the remote source
        resumed = f", {human_size(report.bytes_skipped)} resumed" if report.bytes_skipped else ""
        transfer = (
            f"{what}{resumed} copied server side from {info.source.display} in "
            f"{report.seconds:.1f} s ({human_size(report.bytes_sent)} through this machine)"
        )
    elif report.bytes_sent:
        resumed = f", {human_size(report.bytes_skipped)} resumed" if report.bytes_skipped else ""
        rate = human_rate(report.bytes_sent / report.seconds) if report.seconds > 0 else "-"
        transfer = f"{what}{resumed} in {report.seconds:.1f} s at {rate}"
    else:
        transfer = f"{what}, already stored by an earlier run"
    if report.plan.skipped:  # left out, not lost without a word
        transfer = f"{transfer}; {report.plan.skipped_text}"
    lines = [
        f"{DONE} Upload complete: {transfer}",
        f"{DONE} Model registered: {model.name} version {model.version}",
    ]
    if report.plan.copied or report.sha256_declared:
        lines.insert(1, f"{DONE} Verified: {report.verified}")
    if report.plan.in_use:  # an --overwrite --force of a deployed version
        lines.append(
            f"{DONE} Deployment {', '.join(report.plan.in_use)} now serves the new weights"
        )
    return "\n".join(lines)
