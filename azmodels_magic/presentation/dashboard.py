"""The dashboard `%azmodels` shows in a notebook: models, deployments and uploads at a glance.

Three tabs hold the DataFrames of `list`, `deployments list` and `uploads list` (status in
colour). Click a row to select it (it is highlighted and named below the tabs; or type its name
into the box beside the actions, which completes it), then Show,
Deploy (the deploy form, preselected), Scale or Delete (type the name to confirm). Every action
runs a command through `actions.execute` (the front end's: see `actions.py`), and its result or
one-line error shows in the dashboard's output area; the tables refresh afterwards.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..records import CUSTOM
from ..steps import NOTEBOOK
from .actions import Actions, Result
from .display import frame_html
from .forms import DeployForm, _classes, command_line
from .widgets import ConfirmBox, ErrorLine, capture, clear, show_outcome

if TYPE_CHECKING:
    import pandas as pd

MODELS, DEPLOYMENTS, UPLOADS = "models", "deployments", "uploads"
KINDS = (MODELS, DEPLOYMENTS, UPLOADS)
TITLES = {MODELS: "Models", DEPLOYMENTS: "Deployments", UPLOADS: "Uploads"}
LIST_COMMANDS = {
    MODELS: ["list"],
    DEPLOYMENTS: ["deployments", "list"],
    UPLOADS: ["uploads", "list"],
}


class Dashboard:
    """Tabs of DataFrames, a Refresh button, and actions on the selected row."""

    def __init__(self, app: Actions) -> None:
        import ipywidgets as w

        self.app = app
        self.frames: dict[str, pd.DataFrame] = {}
        self.messages: dict[str, str] = {}
        self.last_form: DeployForm | None = None
        self.confirm: ConfirmBox | None = None
        self.last_outcome: Result | None = None
        # The selected row's value, per tab (see `select`); None: nothing selected there.
        self.selection: dict[str, str | None] = dict.fromkeys(KINDS)
        self._finding = False  # selecting from what was typed into `find` (keep that text)

        self.tables = {kind: w.HTML() for kind in KINDS}
        boxes = [
            w.Box([self.tables[k]], layout=w.Layout(max_height="380px", overflow="auto"))
            for k in KINDS
        ]
        self.tabs = w.Tab(children=boxes)
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.summary = w.HTML()
        # A click on a table row writes "kind:row label" here (the tables' onclick, see
        # `clickable_html`); hidden, it carries the click from the browser to Python.
        self.clicks = w.Text(layout=w.Layout(display="none"))
        self.pick_hint = w.HTML()  # the selected row, or how to select one
        # Or type (completes the current tab's rows): where a page runs no inline handlers.
        self.find = w.Combobox(
            placeholder="or type a name", ensure_option=True, layout=w.Layout(width="200px")
        )

        def snug():  # one row of actions beside a long selection (a Layout per widget)
            return w.Layout(width="auto")

        self.show_button = w.Button(description="Show", icon="info-circle", layout=snug())
        self.deploy_button = w.Button(
            description="Deploy", icon="rocket", button_style="primary", layout=snug()
        )
        self.scale_capacity = w.BoundedIntText(
            value=1, min=1, max=1_000_000, description="Capacity",
            layout=w.Layout(width="170px"), style={"description_width": "60px"},
        )  # fmt: skip
        self.scale_button = w.Button(description="Scale", icon="arrows-v", layout=snug())
        self.delete_button = w.Button(
            description="Delete", icon="trash", button_style="danger", layout=snug()
        )
        self.output = w.Output()

        _classes("azmodels-dashboard", tabs=self.tabs, refresh=self.refresh_button,
                 clicks=self.clicks, pick=self.pick_hint, find=self.find, show=self.show_button,
                 deploy=self.deploy_button, capacity=self.scale_capacity, scale=self.scale_button,
                 delete=self.delete_button, output=self.output)  # fmt: skip
        self.load()
        self._titles()
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.tabs.observe(lambda _c: self._tab_changed(), names="selected_index")
        self.clicks.observe(lambda change: self.clicked(change["new"]), names="value")
        self.find.observe(lambda change: self.found(change["new"]), names="value")
        self.show_button.on_click(lambda _b: self.show())
        self.deploy_button.on_click(lambda _b: self.deploy())
        self.scale_button.on_click(lambda _b: self.scale())
        self.delete_button.on_click(lambda _b: self.delete())
        self._tab_changed()

        actions = w.HBox(
            [
                self.pick_hint,
                self.find,
                self.show_button,
                self.deploy_button,
                self.scale_capacity,
                self.scale_button,
                self.delete_button,
            ],
            layout=w.Layout(flex_flow="row wrap"),
        )
        self.widget = w.VBox(
            [
                w.HBox([w.HTML("<b>azmodels</b>"), self.refresh_button, self.summary]),
                self.tabs,
                actions,
                self.clicks,
                self.output,
            ]
        )
        self.widget.add_class("azmodels-dashboard")
        self.widget.dashboard = self

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # -- the tables -----------------------------------------------------------------------------

    def load(self, *, refresh: bool = False) -> None:
        """Run the three list commands and show their frames (refresh: ask the service anew)."""
        if refresh:
            self.app.models.catalog(refresh=True)
            self.app.models.custom_models(refresh=True)
            self.app.deployments.all(refresh=True)
        for kind in KINDS:
            outcome = self.app.execute(LIST_COMMANDS[kind], front_end=NOTEBOOK)
            frame = outcome.value
            self.frames[kind] = frame
            self.messages[kind] = outcome.message
            if self.selection[kind] not in self.row_values(kind):
                self.selection[kind] = None  # gone since: nothing selected
            self._render(kind)
        self._titles()
        if hasattr(self, "widget"):
            self._tab_changed()

    def refresh(self) -> None:
        """The Refresh button: reload every table; a failure shows as one line below."""
        clear(self.output)
        try:
            self.load(refresh=True)
        except Exception as exc:
            with capture(self.output) as show:
                show(ErrorLine(exc))

    def _titles(self) -> None:
        for index, kind in enumerate(KINDS):
            frame = self.frames.get(kind)
            count = 0 if frame is None else len(frame)
            self.tabs.set_title(index, f"{TITLES[kind]} ({count})")
        self.summary.value = (
            '<span style="color:#605e5c">' + " · ".join(m for m in self.messages.values() if m)
            + "</span>"
        )  # fmt: skip

    @property
    def kind(self) -> str:
        return KINDS[self.tabs.selected_index or 0]

    def select_tab(self, kind: str) -> None:
        self.tabs.selected_index = KINDS.index(kind)

    # -- the selected row -----------------------------------------------------------------------

    def _render(self, kind: str) -> None:
        frame = self.frames.get(kind)
        if frame is None or frame.empty:
            self.tables[kind].value = f"<i>No {kind} yet.</i>"
            return
        picked = self.row_values(kind).index(self.selection[kind]) if self.selection[kind] else None
        label = None if picked is None else str(frame.index[picked])
        self.tables[kind].value = clickable_html(kind, table_html(frame), label)

    def row_values(self, kind: str) -> list[str]:
        """The value of each row of a tab's frame, in order (see `select`)."""
        frame = self.frames.get(kind)
        if frame is None or frame.empty:
            return []
        return [_row_value(kind, row) for row in frame.to_dict("records")]

    def _labels(self, kind: str) -> list[str]:
        """Each row of a tab's frame in words (what `find` completes), in order."""
        frame = self.frames.get(kind)
        if frame is None or frame.empty:
            return []
        return [_row_label(kind, row) for row in frame.to_dict("records")]

    def _tab_changed(self) -> None:
        kind = self.kind
        self.find.options = tuple(self._labels(kind))
        self.find.value = ""
        self.deploy_button.layout.display = None if kind == MODELS else "none"
        self.scale_capacity.layout.display = None if kind == DEPLOYMENTS else "none"
        self.scale_button.layout.display = None if kind == DEPLOYMENTS else "none"
        self._selection_changed()

    @property
    def selected_value(self) -> str | None:
        """The selected row's value on the current tab (None: no row selected)."""
        return self.selection[self.kind]

    def select(self, value: str | None, kind: str | None = None) -> None:
        """Select a row by its value (a model 'type:name:version', a deployment or upload path),
        on the current tab or `kind`'s (shown). None clears the selection."""
        kind = kind or self.kind
        if value is not None and value not in self.row_values(kind):
            raise ValueError(f"No row '{value}' in the {TITLES[kind]} tab.")
        self.selection[kind] = value
        self._render(kind)
        if not self._finding:
            self.find.value = ""  # selected another way: the typed text is stale
        if kind != self.kind:
            self.select_tab(kind)  # its observer updates the actions
        else:
            self._selection_changed()

    def clicked(self, text: str) -> None:
        """A click on a table row, as the table's onclick reports it: 'kind:row label'."""
        if not text:
            return
        kind, _sep, label = text.partition(":")
        frame = self.frames.get(kind)
        try:
            if frame is None:
                return
            labels = [str(i) for i in frame.index]
            if label in labels:
                self.select(self.row_values(kind)[labels.index(label)], kind)
        finally:
            self.clicks.value = ""  # the same row clicked again is a change again

    def found(self, label: str) -> None:
        """A row's words typed (or completed) into `find`: select that row."""
        labels = self._labels(self.kind)
        if label in labels:
            self._finding = True
            try:
                self.select(self.row_values(self.kind)[labels.index(label)])
            finally:
                self._finding = False

    def row(self) -> dict[str, Any] | None:
        """The selected row of the current tab, as a dict of its columns."""
        value = self.selected_value
        if value is None:
            return None
        values = self.row_values(self.kind)
        if value not in values:
            return None
        return self.frames[self.kind].iloc[values.index(value)].to_dict()

    def _selection_changed(self) -> None:
        row = self.row()
        none = row is None
        if none:
            self.pick_hint.value = (
                f'<span style="color:#605e5c">Click a row of {TITLES[self.kind]} to act on it.'
                "</span>"
            )
        else:
            self.pick_hint.value = f"Selected: <b>{html.escape(_row_label(self.kind, row))}</b>"
        self.show_button.disabled = none
        self.deploy_button.disabled = none
        self.scale_button.disabled = none
        self.delete_button.disabled = none or (self.kind == MODELS and row["type"] != CUSTOM)
        self.delete_button.tooltip = (
            "Base models of the catalog cannot be deleted" if self.kind == MODELS and not none
            and row["type"] != CUSTOM else ""
        )  # fmt: skip
        if self.kind == DEPLOYMENTS and row is not None and row.get("capacity") is not None:
            self.scale_capacity.value = int(row["capacity"])

    # -- actions --------------------------------------------------------------------------------

    def _run(self, argv: list[str], *, reload: bool = False) -> Result | None:
        def run() -> Result:
            print(command_line(argv))
            outcome = self.app.execute(argv, front_end=NOTEBOOK)
            if reload:
                self.load()
            return outcome

        self.last_outcome = show_outcome(self.output, run, debug=self.app.debug)
        return self.last_outcome

    def _nothing_selected(self) -> bool:
        if self.row() is not None:
            return False
        clear(self.output)
        with capture(self.output):
            print(f"Select a row of the {TITLES[self.kind]} tab first.")
        return True

    def show(self) -> Result | None:
        """Show: the card of the selected model, deployment or upload."""
        if self._nothing_selected():
            return None
        row = self.row()
        assert row is not None
        if self.kind == MODELS:
            argv = ["show", f"--name={row['name']}", f"--type={row['type']}",
                    f"--version={row['version']}"]  # fmt: skip
        elif self.kind == DEPLOYMENTS:
            argv = ["deployments", "show", f"--name={row['deployment']}"]
        else:
            argv = ["uploads", "show", f"--path={row['path']}"]
        return self._run(argv)

    def deploy(self) -> DeployForm | None:
        """Deploy: the deploy form, with the selected model already picked."""
        if self.kind != MODELS or self._nothing_selected():
            return None
        row = self.row()
        assert row is not None
        clear(self.output)
        with capture(self.output) as show:
            try:
                form = DeployForm(
                    self.app, model=row["name"], type=row["type"], version=str(row["version"])
                )
            except Exception as exc:
                show(ErrorLine(exc))
                return None
            form.on_done = lambda _outcome: self.load()
            self.last_form = form
            show(form.widget)
        return form

    def scale(self) -> Result | None:
        """Scale: the selected deployment to the capacity typed next to the button."""
        if self.kind != DEPLOYMENTS or self._nothing_selected():
            return None
        row = self.row()
        assert row is not None
        argv = ["deployments", "scale", f"--name={row['deployment']}",
                f"--capacity={int(self.scale_capacity.value)}"]  # fmt: skip
        return self._run(argv, reload=True)

    def delete(self) -> ConfirmBox | None:
        """Delete: type the name to confirm; then the command runs (with --force: confirmed)."""
        if self._nothing_selected():
            return None
        row = self.row()
        assert row is not None
        if self.kind == MODELS:
            if row["type"] != CUSTOM:
                clear(self.output)
                with capture(self.output):
                    print(f"'{row['name']}' is a base model of the catalog: it cannot be deleted.")
                return None
            expected, what = row["name"], f"custom model '{row['name']}' version {row['version']}"
            argv = ["delete", f"--name={row['name']}", f"--version={row['version']}", "--force"]
        elif self.kind == DEPLOYMENTS:
            expected = row["deployment"]
            what = f"deployment '{expected}' ({row['model']})"
            argv = ["deployments", "delete", f"--name={expected}", "--force"]
        else:
            expected, what = row["path"], f"the upload record {row['path']} and its staged blobs"
            argv = ["uploads", "delete", f"--path={expected}"]
        box = ConfirmBox(expected=expected, what=what, verb="delete",
                         action=self._action(argv))  # fmt: skip
        self.confirm = box
        clear(self.output)
        with capture(self.output) as show:
            show(box.widget)
        return box

    def _action(self, argv: list[str]) -> Callable[[], Result]:
        def run() -> Result:
            print(command_line(argv))
            outcome = self.app.execute(argv, front_end=NOTEBOOK)
            self.last_outcome = outcome
            self.load()
            return outcome

        return run


# The classes JupyterLab (and the classic notebook) give an output's HTML: inside a widget the
# tables get them too, so they look exactly like `%azmodels list`'s.
OUTPUT_CLASSES = "jp-RenderedHTMLCommon rendered_html azmodels-table"


def table_html(frame: pd.DataFrame) -> str:
    """A frame as `list` shows it in a notebook, styled the same inside the dashboard."""
    return f'<div class="{OUTPUT_CLASSES}">{frame_html(frame) or ""}</div>'


def _row_value(kind: str, row: dict[str, Any]) -> str:
    """What names a row (`Dashboard.select`): 'type:name:version', a deployment, a path."""
    if kind == MODELS:
        return f"{row['type']}:{row['name']}:{row['version']}"
    return str(row["deployment"] if kind == DEPLOYMENTS else row["path"])


def _row_label(kind: str, row: dict[str, Any]) -> str:
    """The selected row in words, beside the actions."""
    if kind == MODELS:
        return f"{row['name']} {row['version']} ({row['type']})"
    if kind == DEPLOYMENTS:
        where = f"{row['status']}, {row['sku']} x {row['capacity']}"
        return f"{row['deployment']}: {row['model']} ({where})"
    return f"{row['path']} ({row['state']})"


# A click on a row reports "kind:index label" through the dashboard's hidden `clicks` text box,
# as typing into it would (an input event); the rest happens in Python (`Dashboard.clicked`).
_ON_CLICK = (
    "var tr=event.target.closest('tbody tr');var th=tr&&tr.querySelector('th');"
    "var box=this.closest('.azmodels-dashboard');"
    "box=box&&box.querySelector('.azmodels-dashboard-clicks input');"
    "if(!th||!box)return;box.value=this.dataset.kind+':'+th.textContent.trim();"
    "box.dispatchEvent(new Event('input',{bubbles:true}));"
)
_CLICKABLE_STYLE = (
    "<style>.azmodels-clickable tbody tr{cursor:pointer}"
    ".azmodels-clickable tbody tr:hover{background:#f3f2f1 !important}"
    ".azmodels-clickable tbody tr.azmodels-picked{background:#cfe4fa !important;"
    "box-shadow:inset 3px 0 #0078d4}</style>"
)


def clickable_html(kind: str, table: str, picked: str | None = None) -> str:
    """A tab's table whose rows select on a click; the row labelled `picked` highlighted."""
    if picked is not None:  # the row whose index cell is `picked` (pandas: <tr>, then <th>)
        pattern = re.compile(r"<tr>(\s*<th>" + re.escape(html.escape(picked)) + r"</th>)")
        table = pattern.sub(r'<tr class="azmodels-picked">\1', table, count=1)
    return (
        f'{_CLICKABLE_STYLE}<div class="azmodels-clickable" data-kind="{kind}" '
        f'onclick="{html.escape(_ON_CLICK)}">{table}</div>'
    )


def dashboard(app: Actions):
    """The dashboard's widget (its Dashboard is `widget.dashboard`)."""
    return Dashboard(app).widget
