"""How a finished command ends: ✓ lines for what was done, then the next steps as commands.

The commands are written for the notebook (`%azmodels ...`); the CLI shows them as `azmodels ...`
(as it does every hint).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..sizes import human_rate, human_size
from ..wording import plural

if TYPE_CHECKING:
    from ..services.uploads import UploadReport

DONE = "✓"


def next_steps(steps: list[tuple[str, str]]) -> list[str]:
    """'Next steps' and one aligned line per (what, command)."""
    if not steps:
        return []
    width = max(len(what) for what, _ in steps) + 1
    return ["Next steps", *(f"  {(what + ':').ljust(width)}  {command}" for what, command in steps)]


def upload_done(report: UploadReport) -> str:
    """✓ Upload complete (files, size, time and the bar's speed), ✓ Model registered, Next steps."""
    from ..services.models import suggest_deployment_name

    info = report.plan.info
    model = report.model
    what = f"{plural(len(info.files), 'file')} ({human_size(info.total_size)})"
    if report.bytes_sent:
        resumed = f", {human_size(report.bytes_skipped)} resumed" if report.bytes_skipped else ""
        rate = human_rate(report.bytes_sent / report.seconds) if report.seconds > 0 else "-"
        transfer = f"{what}{resumed} in {report.seconds:.1f} s at {rate}"
    else:
        transfer = f"{what}, already stored by an earlier run"
    name = f"{model.name} version {model.version}"
    version = f" --version {model.version}"
    lines = [
        f"{DONE} Upload complete: {transfer}",
        f"{DONE} Model registered: {name}",
        *(
            [f"{DONE} Deployment {', '.join(report.plan.in_use)} now serves the new weights"]
            if report.plan.in_use
            else []
        ),
        *next_steps(
            [
                ("Deploy it", f"%azmodels deploy --name {model.name}{version} "
                              f"--deployment-name {suggest_deployment_name(model.name)}"),
                ("Details", f"%azmodels show {model.name}{version}"),
            ]
        ),
    ]  # fmt: skip
    return "\n".join(lines)
