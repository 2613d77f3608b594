"""Cards: one record's details as sections of label/value pairs, rendered as HTML or text.

Every `show` uses the same `Card`; only the sections differ. `card_for(record, syntax)` builds
the card of any record the services return for display, with the commands it names written in
the front end's syntax.
"""

from __future__ import annotations

import html
import shutil
import textwrap
from dataclasses import dataclass, field
from functools import singledispatch
from typing import Any

from ..records import BaseModel, CustomModel
from ..results.deployments import KEY_ENV, DeploymentDetails
from ..results.models import ModelDetails
from ..results.uploads import UploadPlan, UploadStatus
from ..sizes import human_size
from ..steps import Syntax, plain
from ..wording import moment
from .colours import STATUS_COLOURS, status_colour
from .text import clean

__all__ = ["STATUS_COLOURS", "Card", "Code", "card_for", "status_colour"]


@dataclass(frozen=True)
class Code:
    """Lines to paste (a command, a snippet): printed exactly as they run, never indented by the
    card nor sharing a line with anything else; `note` says what they do, beside the label."""

    text: str
    note: str = ""


# Long values (a sha256, a blob URL, a path) wrap inside the card instead of widening it past
# its edge: `anywhere` lets the table shrink a value to fit. Labels break only between words
# (`break-word` keeps a label's words whole when the table is narrowed).
_TABLE_STYLE = "border-collapse:collapse;margin:0;max-width:100%"
_LABEL_STYLE = (
    "padding:1px 12px 1px 0;color:#605e5c;text-align:left;vertical-align:top;"
    "white-space:normal;overflow-wrap:break-word"
)
_VALUE_STYLE = "padding:1px 0;text-align:left;vertical-align:top;white-space:normal;" + (
    "overflow-wrap:anywhere;word-break:break-word"
)
_PRE_STYLE = "margin:2px 0;font-size:0.85em;white-space:pre-wrap;overflow-wrap:anywhere"


@dataclass
class Card:
    title: str
    badge: str = ""
    sections: list[tuple[str, list[tuple[str, Any]]]] = field(default_factory=list)
    commands: list[tuple[str, str]] = field(default_factory=list)

    def section(self, heading: str, rows: list[tuple[str, Any]]) -> None:
        kept = [(label, value) for label, value in rows if value not in (None, "", [], {})]
        if kept:
            self.sections.append((heading, kept))

    def __post_init__(self) -> None:
        self.title, self.badge = clean(self.title, lines=False), clean(self.badge, lines=False)

    def text(self, columns: int | None = None) -> str:
        """The card as text `columns` wide (default: the terminal's, $COLUMNS, else 80): values
        wrap between words under their own column; code and commands stay whole, to paste."""
        columns = columns or shutil.get_terminal_size((80, 24)).columns
        lines = [f"{self.title}" + (f"  [{self.badge}]" if self.badge else "")]
        lines.append("=" * len(lines[0]))
        width = max((len(label) for _, rows in self.sections for label, _ in rows), default=0)
        for heading, rows in self.sections:
            lines.append(f"\n{heading}" if lines[-1] else heading)  # one blank line after code
            for label, value in rows:
                if isinstance(value, Code):  # flush left, so a pasted line or block runs
                    note = f": {clean(value.note, lines=False)}" if value.note else ":"
                    lines += [f"  {clean(label, lines=False)}{note}", clean(value.text), ""]
                    continue
                text = _wrapped(_plain(value), columns - width - 4, indent=width + 4)
                lines.append(f"  {clean(label, lines=False).ljust(width)}  {text}")
        if self.commands:
            lines.append("\nNext" if lines[-1] else "Next")
            for label, command in self.commands:
                lines.append(f"  {label}: {command}")
        return "\n".join(lines)

    def html(self) -> str:
        e = html.escape
        badge = (
            f'<span style="background:{status_colour(self.badge)};color:white;border-radius:8px;'
            f'padding:1px 8px;margin-left:8px;font-size:0.8em">{e(self.badge)}</span>'
            if self.badge
            else ""
        )
        parts = [
            '<div class="azmodels-card" style="border:1px solid #d0d0d0;border-radius:6px;'
            'padding:10px 14px;max-width:820px;box-sizing:border-box;font-family:sans-serif">',
            f'<div style="font-size:1.2em;font-weight:600">{e(self.title)}{badge}</div>',
        ]
        for heading, rows in self.sections:
            parts.append(
                f'<div style="margin-top:8px;font-weight:600;color:#605e5c">{e(heading)}</div>'
                f'<table style="{_TABLE_STYLE}">'
            )
            for label, value in rows:
                parts.append(
                    f'<tr><td style="{_LABEL_STYLE}">{e(clean(label, lines=False))}</td>'
                    f'<td style="{_VALUE_STYLE}">{_cell(value)}</td></tr>'
                )
            parts.append("</table>")
        if self.commands:
            parts.append('<div style="margin-top:8px;font-weight:600;color:#605e5c">Next</div>')
            for label, command in self.commands:
                parts.append(
                    f"<div>{e(label)}: <code style='user-select:all'>{e(command)}</code></div>"
                )
        parts.append("</div>")
        return "".join(parts)


def _wrapped(text: str, room: int, *, indent: int) -> str:
    """`text` in lines of at most `room` characters (broken between words only: a URL or a
    digest longer than that stays whole), the lines after the first indented by `indent`."""
    room = max(room, 20)  # a terminal too narrow for the labels: still a readable column
    lines = [
        part
        for line in text.split("\n")
        for part in textwrap.wrap(line, room, break_long_words=False, break_on_hyphens=False)
        or [""]
    ]
    return ("\n" + " " * indent).join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, Code):
        note = f"{html.escape(clean(value.note))}" if value.note else ""
        code = html.escape(clean(value.text))
        return f'{note}<pre style="margin:2px 0;font-size:0.85em;user-select:all">{code}</pre>'
    text = html.escape(_plain(value))
    if "\n" in text:
        return f'<pre style="{_PRE_STYLE}">{text}</pre>'
    return text


def _plain(value: Any) -> str:
    """A value as card text, without control sequences (text from the service or weights)."""
    if isinstance(value, dict):
        text = ", ".join(f"{k}={v}" for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        text = ", ".join(str(v) for v in value)
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    else:
        text = str(value)
    return clean(text)


def _tokens(value: Any) -> str:
    """'128000' -> '128,000 tokens'; '' when the catalog does not say."""
    text = str(value or "").strip()
    return f"{int(text):,} tokens" if text.isdigit() else ""


def _capability(name: str) -> str:
    """'chatCompletion' -> 'Chat completion', 'jsonObjectResponse' -> 'JSON object response'."""
    words, word = [], ""
    for ch in name:
        if ch.isupper() and word and not word[-1].isupper():
            words.append(word)
            word = ch
        else:
            word += ch
    words.append(word)
    known = {"json": "JSON", "v2": "V2", "api": "API"}
    spelled = [known.get(w.lower(), w.lower()) for w in words if w]
    return (spelled[0][:1].upper() + spelled[0][1:] + " " + " ".join(spelled[1:])).strip()


@singledispatch
def card_for(record: Any, syntax: Syntax = plain) -> Card:
    """The card of a record the services return for display."""
    raise TypeError(f"No card for {type(record).__name__}.")


@card_for.register(ModelDetails)
def model_card(details: ModelDetails, syntax: Syntax = plain) -> Card:
    model = details.model
    card = Card(title=f"{model.name} ({model.type} model)", badge=model.status)
    if isinstance(model, BaseModel):
        card.section(
            "General",
            [
                ("Publisher", model.publisher),
                ("Format", model.format),
                ("Version", model.version + (" (default)" if model.is_default_version else "")),
                ("Versions", details.versions),
                (
                    "Lifecycle",
                    model.lifecycle_status
                    + (" (as the catalog says; past its retirement date)" if model.retired else ""),
                ),
                ("Description", model.description),
                ("Context window", _tokens(model.capabilities.get("maxContextToken"))),
                ("Max output", _tokens(model.capabilities.get("maxOutputToken"))),
                ("Retired" if model.retired else "Retires", moment(model.inference_deprecation)),
                ("Fine-tuning retires", moment(model.finetune_deprecation)),
            ],
        )
        card.section("Capabilities", [(_capability(name), "✓") for name in model.capability_names])
        card.section(
            "SKUs (capacity range)",
            [(sku.name, sku.capacity.describe() + f", default {sku.capacity.default}")
             for sku in model.skus],
        )  # fmt: skip
    elif isinstance(model, CustomModel):
        weights = details.weights
        card.section(
            "General",
            [
                ("Format", model.format),
                ("Version", model.version),
                ("Versions", details.versions),
                ("Status", model.status),
                ("Description", model.description),
                ("Size", human_size(model.size) if model.size is not None else ""),
                ("Weight type", model.weight_type),
                ("Base model", model.base_model),
                ("LoRA", ", ".join(f"{k} {v}" for k, v in model.lora_config.items())),
                ("Publisher", model.publisher_id),
                (
                    "Artifacts",
                    model.artifact_category
                    + (f" ({', '.join(model.artifact_signals)})" if model.artifact_signals else ""),
                ),
                ("Storage", model.blob_uri),
                ("Uploaded", moment(model.created_at)),
                ("Tags", model.user_tags),
            ],
        )
        card.section(
            "Weights",
            [(key.replace("_", " ").capitalize(), value) for key, value in weights.items()
             if key not in ("format", "size")],
        )  # fmt: skip
        # What the service found in the weights (artifactProfile/warnings): before deploying.
        card.section(
            "Service warnings",
            [(code or "Warning", message) for code, message in model.warnings],
        )
        card.section("Files", [("Warning", details.files_warning)])
        card.section(
            f"Files ({len(details.files)})",
            [(f.path, f"{human_size(f.size)}, sha256 {f.sha256 or 'not recorded'}"
              + (" (declared by the source)" if f.sha256 and f.sha256_basis == "declared"
                 else ""))
             for f in details.files[:50]]
            + ([("...", f"{len(details.files) - 50} more files")] if len(details.files) > 50
               else []),
        )  # fmt: skip
    card.section(
        f"Deployments ({len(details.deployments)})",
        [(d.name, f"{d.status}, {d.sku} x {d.capacity}") for d in details.deployments],
    )
    card.commands = [
        (step.what, syntax(step))
        for step in (details.deploy_step, details.deployments_step)
        if step is not None
    ]
    return card


@card_for.register(DeploymentDetails)
def deployment_card(details: DeploymentDetails, syntax: Syntax = plain) -> Card:
    d = details.deployment
    card = Card(title=f"{d.name} (deployment)", badge=d.status)
    card.section(
        "General",
        [
            ("Model", f"{d.model_name} {d.model_version}".strip()),
            ("Type", d.type),
            ("Format", d.model_format),
            ("Status", f"{d.status} ({d.provisioning_state})"),
            ("Created", moment(d.created_at)),
            ("Changed", moment(d.modified_at) if d.modified_at != d.created_at else ""),
        ],
    )
    card.section("Configuration", [("SKU", d.sku), ("Capacity", d.capacity),
                                   ("Region", details.region)])  # fmt: skip
    card.section(
        "Endpoint",
        [
            ("URL", details.endpoint),
            ("Auth", "api-key header (the account key) or a Microsoft Entra token (keyless)"),
        ],
    )
    m = details.metrics
    if m is not None:
        latency = m.average_latency_ms
        rate = m.error_rate
        card.section(
            "Last 24 hours",
            [
                ("Requests", f"{m.requests:,}"),
                ("Average latency", f"{latency:.0f} ms" if latency is not None else "no requests"),
                ("Error rate", f"{rate:.1%}" if rate is not None else "no requests"),
            ],
        )
    card.section("Notes", [("Note", note) for note in details.notes])
    snippets = details.snippets()
    steps = details.steps()
    card.section(
        "Try it",
        [
            ("Key", Code(syntax(steps["key"]), f"puts the key into ${KEY_ENV}, never shown")),
            ("Python", Code(snippets["python"])),
            ("curl", Code(snippets["curl"])),
        ],
    )
    card.commands = [(steps[key].what, syntax(steps[key])) for key in ("scale", "delete")]
    return card


@card_for.register(UploadPlan)
def upload_plan_card(plan: UploadPlan, syntax: Syntax = plain) -> Card:
    card = Card(title=f"Upload plan (dry run): {plan.name} {plan.version}", badge="dry run")
    card.section("Nothing was changed", plan.rows())
    return card


@card_for.register(UploadStatus)
def upload_status_card(status: UploadStatus, syntax: Syntax = plain) -> Card:
    if status.registered:
        badge = "registered"
    else:
        badge = "partial" if not status.complete else "unregistered"
    card = Card(title=f"Upload {status.path}", badge=badge)
    step = status.next_step  # in the front end's syntax, not the service's plain text
    finish = Code(syntax(step), step.what) if step else ""
    card.section("Upload", [(k, finish if k == "To finish" else v) for k, v in status.rows()])
    return card
