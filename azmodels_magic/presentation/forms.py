"""The deploy and upload forms (`%azmodels deploy` / `%azmodels upload` with no flags).

A form only gathers values and checks them as they are typed, with the rules the grammar uses
(`rules`) and the services' own ranges. Its button builds the command line and runs it through
`actions.execute` (the front end's: see `actions.py`), so a click does exactly what the command
does: the same checks, progress, result card and one-line errors, shown in the form's output
area.

    form = DeployForm(app)          # any `Actions`, e.g. an AzModels; form.widget is shown
    form.model.value = form.key_for("gpt-4o")
    form.name.value = "chat"
    form.button.click()             # deploys, the card shows in form.output
"""

from __future__ import annotations

import html
import shlex
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from .. import rules
from ..errors import AzModelsError, ValidationError
from ..records import BASE, CUSTOM, BaseModel, CustomModel, SkuOption, region_key
from ..rules import matches
from ..sources.local import LocalSource
from ..sources.remote import remote_source
from ..steps import NOTEBOOK
from ..weights import WeightsInfo, inspect_source
from .actions import Actions, Result
from .text import clean
from .widgets import ErrorLine, capture, clear, show_outcome

AnyModel = BaseModel | CustomModel
DEFAULT_VERSION = "1"  # what `upload` registers when no --version is given

_OK, _BAD, _NOTE = "#107c10", "#a4262c", "#605e5c"
_LABEL_WIDTH = "140px"  # fits "Deployment name" and "Description"
_NAME_PLACEHOLDER = "e.g. my-llama (or give the weights' path: the name follows it)"
# Where the upload form's weights come from -> (the path box's hint, the remote kinds it takes).
LOCAL = "This machine"
_SOURCE_CHOICES = {
    LOCAL: ("e.g. ./model.safetensors or a model folder", ()),
    "URL": ("e.g. https://ACCOUNT.blob.core.windows.net/CONTAINER/FOLDER?SAS, or a file's "
            "https URL", ("url", "blob")),
    "Hugging Face": ("e.g. hf://ORG/REPO[@REVISION][/SUBFOLDER]", ("hub",)),
}  # fmt: skip
# A capacity slider only when every value on it can be dragged to; else a number box.
SLIDER_POSITIONS = 100
# Placeholders are hints, not values: lighter and in italics, so an empty field looks empty.
_HINT_CSS = (
    "<style>.azmodels-form input::placeholder{color:#a19f9d;font-style:italic;opacity:1}</style>"
)


def model_key(model: AnyModel) -> str:
    """The value a model has in the picker: type, name and version."""
    return f"{model.type}:{model.name}:{model.version}"


def model_label(model: AnyModel) -> str:
    """E.g. 'gpt-4.1 2025-04-14 (base)', 'gpt-4o 2024-05-13 (base, retired)' or
    'my-llama 2 (custom, Registering)'."""
    kind = model.type
    if isinstance(model, CustomModel) and not model.ready:
        kind += f", {model.status}"
    if isinstance(model, BaseModel) and model.retired:
        kind += ", retired"
    return f"{model.name} {model.version} ({kind})".replace("  ", " ")


def parse_tags(text: str) -> list[str]:
    """'k=v, k2=v2' -> ['k=v', 'k2=v2'], each checked by the grammar (ValidationError if bad)."""
    tags = [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
    for tag in tags:
        problem = rules.problem(rules.tag, tag)
        if problem:
            raise ValidationError(problem)
    return tags


def command_line(argv: list[str]) -> str:
    """How to type the same thing: `%azmodels deploy --name gpt-4o ...`."""
    words: list[str] = []
    for word in argv:
        flag, sep, value = word.partition("=")
        if word.startswith("--") and sep and value and not value.startswith("-"):
            words += [flag, value]
        else:
            words.append(word)
    return "%azmodels " + shlex.join(words)


def _hint(widget: Any, text: str, colour: str) -> None:
    widget.value = f'<span style="color:{colour}">{html.escape(text)}</span>' if text else ""


def _layout(**kwargs: Any):
    import ipywidgets as w

    return w.Layout(**kwargs)


def _classes(prefix: str, **widgets: Any) -> None:
    """Stable CSS classes (e.g. `azmodels-deploy-name`), for browser tests and custom styles."""
    for role, widget in widgets.items():
        widget.add_class(f"{prefix}-{role}")


def _style() -> dict[str, str]:
    return {"description_width": _LABEL_WIDTH}


class _Form:
    """What both forms share: a button that runs one command in the output area."""

    verb = "Run"
    busy = "Running…"
    app: Actions

    def _build_button(self, icon: str):
        import ipywidgets as w

        self.button = w.Button(description=self.verb, button_style="primary", icon=icon)
        self.button.on_click(lambda _b: self.submit())
        self.hint = w.HTML()
        self.output = w.Output()
        self.problem: str | None = None
        self.last_outcome: Result | None = None
        # Called with the outcome after a successful run (the dashboard refreshes its tables).
        self.on_done: Callable[[Result], Any] | None = None

    def argv(self) -> list[str]:  # pragma: no cover - each form has its own
        raise NotImplementedError

    def validate(self) -> str | None:  # pragma: no cover
        raise NotImplementedError

    def submit(self) -> Result | None:
        """What a click does: run the command the fields describe, show its result below."""
        problem = self.validate()
        if problem:
            clear(self.output)
            with capture(self.output) as show:
                show(ErrorLine(ValidationError(problem)))
            return None
        argv = self.argv()
        self.button.disabled = True
        self.button.description = self.busy
        try:

            def run() -> Result:
                print(command_line(argv))
                return self.app.execute(argv, front_end=NOTEBOOK)

            self.last_outcome = show_outcome(self.output, run, debug=self.app.debug)
        finally:
            self.button.description = self.verb
            self.after_submit()
        if self.last_outcome is not None and self.on_done is not None:
            try:
                self.on_done(self.last_outcome)
            except Exception as exc:
                with capture(self.output) as show:
                    show(ErrorLine(exc))
        return self.last_outcome

    def after_submit(self) -> None:
        self.validate()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


class DeployForm(_Form):
    """Model picker, deployment name, SKU, capacity (a number box bounded to the SKU's range; a
    slider when the range is small enough to drag to every value), region (a choice of where
    the model is offered), and a Deploy button."""

    verb = "Deploy"
    busy = "Deploying…"

    def __init__(
        self,
        app: Actions,
        *,
        model: str | None = None,
        type: str | None = None,
        version: str | None = None,
    ) -> None:
        import ipywidgets as w

        self.app = app
        self.choices: dict[str, AnyModel] = {
            model_key(m): m for m in app.models.list(type="all").models
        }
        self._skus: dict[str, SkuOption] = {}
        style, wide = _style(), _layout(width="480px")

        self.search = w.Text(
            description="Search", placeholder="filter models: name, publisher or pattern",
            style=style, layout=wide,
        )  # fmt: skip
        self.model = w.Dropdown(
            description="Model", options=self._options(""), style=style, layout=wide
        )
        self.model_note = w.HTML()  # beside the model: a retired one's warning
        self.name = w.Text(
            description="Deployment name", placeholder="e.g. chat", style=style, layout=wide
        )
        self.sku = w.Dropdown(description="SKU", options=[], style=style, layout=wide)
        # Two ways to enter a capacity; `capacity` is the one the SKU's range calls for.
        self.capacity_slider = w.IntSlider(
            description="Capacity", min=1, max=1, value=1, style=style, layout=wide,
            continuous_update=False,
        )  # fmt: skip
        self.capacity_number = w.BoundedIntText(
            description="Capacity", min=1, max=1, value=1, style=style,
            layout=_layout(width="280px"),
        )  # fmt: skip
        self.capacity = self.capacity_number
        self.capacity_box = w.Box([self.capacity])
        self.capacity_range = w.HTML()
        # The regions where the model is offered with the SKU (filled when the SKU is known).
        self.region = w.Dropdown(description="Region", options=[], style=style, layout=wide)
        self._build_button("rocket")

        self.search.observe(self._searched, names="value")
        self.model.observe(lambda _c: self._model_changed(), names="value")
        self.sku.observe(lambda _c: self._sku_changed(), names="value")
        for field in (self.name, self.capacity_slider, self.capacity_number, self.region):
            field.observe(lambda _c: self.validate(), names="value")

        if model:
            target = app.models.find(model, type=type, version=version)
            self.choices.setdefault(model_key(target), target)
            self.model.options = self._options("")
            self.model.value = model_key(target)
        else:  # start on a version the catalog recommends (or one of your own models)
            preferred = next(
                (k for _label, k in self.model.options
                 if getattr(self.choices.get(k), "is_default_version", True)
                 and not getattr(self.choices.get(k), "retired", False)),
                None,
            )  # fmt: skip
            if preferred is not None:
                self.model.value = preferred
        self._model_changed()

        _classes("azmodels-deploy", search=self.search, model=self.model, name=self.name,
                 sku=self.sku, capacity=self.capacity_slider, region=self.region,
                 button=self.button, hint=self.hint, output=self.output)  # fmt: skip
        _classes("azmodels-deploy", capacity=self.capacity_number)
        title = w.HTML("<b>Deploy a model</b>" + _HINT_CSS)
        self.widget = w.VBox(
            [
                title,
                self.search,
                w.HBox([self.model, self.model_note]),
                self.name,
                self.sku,
                w.HBox([self.capacity_box, self.capacity_range]),
                self.region,
                w.HBox([self.button, self.hint]),
                self.output,
            ]
        )
        self.widget.add_class("azmodels-deploy-form")
        self.widget.add_class("azmodels-form")
        self.widget.form = self

    # -- the model picker -----------------------------------------------------------------------

    def _options(self, pattern: str) -> list[tuple[str, str]]:
        found = [
            (model_label(m), key)
            for key, m in self.choices.items()
            if matches(pattern.strip(), m.name, m.publisher, m.format, model_label(m))
        ]

        # Your own models first, then the catalog's live ones, then its retired ones; each in
        # the order the service lists them.
        def retired(key: str) -> bool:
            return bool(getattr(self.choices[key], "retired", False))

        return (
            [o for o in found if o[1].startswith(CUSTOM)]
            + [o for o in found if o[1].startswith(BASE) and not retired(o[1])]
            + [o for o in found if o[1].startswith(BASE) and retired(o[1])]
        )

    def key_for(self, name: str, type: str | None = None, version: str | None = None) -> str:
        """The picker value of a model, resolved the way the command resolves `--name`."""
        target = self.app.models.find(name, type=type, version=version)
        self.choices.setdefault(model_key(target), target)
        return model_key(target)

    def _searched(self, change: dict[str, Any]) -> None:
        current = self.model.value
        options = self._options(change["new"] or "")
        self.model.options = options
        keys = [key for _label, key in options]
        if current in keys:
            self.model.value = current
        elif keys:
            self.model.value = keys[0]
        self._model_changed()

    @property
    def selected(self) -> AnyModel | None:
        return self.choices.get(self.model.value) if self.model.value else None

    def _model_changed(self) -> None:
        model = self.selected
        self._note_retirement(model)
        if model is None:
            self._skus = {}
            self.sku.options = []
            self.validate()
            return
        options = self.app.deployments.skus_for(model)
        self._skus = {s.name: s for s in options}
        try:
            default, _units = self.app.deployments.check_sku(model, None, None)
        except ValidationError:
            default = options[0] if options else None
        if default is not None:  # a custom model's default SKU, when no catalog lists its base
            self._skus.setdefault(default.name, default)
        self.sku.options = list(self._skus)
        if default is not None and self.sku.value != default.name:
            self.sku.value = default.name
        else:
            self._sku_changed()

    def _note_retirement(self, model: AnyModel | None) -> None:
        """A retired base model chosen: said beside it, with a live one to choose instead
        (deploying it is still allowed: Azure may accept it)."""
        if not isinstance(model, BaseModel) or not model.retired:
            self.model_note.value = ""
            return
        text = f"Retired on {model.inference_deprecation[:10]}: the service may stop serving it"
        successor = self.app.models.successor(model)
        if successor is not None:
            text += f"; choose {successor.name} {successor.version} instead"
        _hint(self.model_note, text + ".", _BAD)

    # -- SKU and capacity -----------------------------------------------------------------------

    @property
    def sku_option(self) -> SkuOption | None:
        return self._skus.get(self.sku.value) if self.sku.value else None

    def _sku_changed(self) -> None:
        option = self.sku_option
        self._offer_regions(option)
        if option is None:
            self.capacity.disabled = True
            self.capacity_range.value = ""
            self.validate()
            return
        rng = option.capacity
        positions = (rng.maximum - rng.minimum) // max(rng.step, 1) + 1
        small = positions <= SLIDER_POSITIONS and not rng.allowed
        field = self.capacity_slider if small else self.capacity_number
        with field.hold_trait_notifications():
            if rng.minimum > field.max:  # keep min <= max at every step
                field.max, field.min = rng.maximum, rng.minimum
            else:
                field.min, field.max = rng.minimum, rng.maximum
            field.step = rng.step
            field.value = min(max(rng.default, rng.minimum), rng.maximum)
        field.disabled = rng.minimum == rng.maximum
        self.capacity = field
        self.capacity_box.children = (field,)
        _hint(self.capacity_range, f"{option.name}: {rng.describe()}", _NOTE)
        self.validate()

    # -- region ---------------------------------------------------------------------------------

    def region_choices(self, option: SkuOption | None) -> list[tuple[str, str]]:
        """(label, region) of each region offering the model with `option`, best first (the
        quota service's order); the connected account's region alone when that cannot be told
        (a custom model, or the lookup failed: the service checks again on Deploy)."""
        here = self.app.location or ""
        model = self.selected
        found = []
        if isinstance(model, BaseModel) and option is not None:
            try:
                found = self.app.quota.region_options(model, sku=option.name)
            except AzModelsError:
                found = []
        choices: dict[str, str] = {}
        for region_option in found:
            region = region_option.region
            if region in choices:
                continue
            if region_option.account:  # short enough for the dropdown: yours, and the room
                choices[region] = f"{region} ({region_option.account}: {region_option.room})"
            else:
                choices[region] = f"{region} (no account of yours)"
        if not choices and here:
            choices[here] = f"{here} (the connected account's region)"
        return [(label, region) for region, label in choices.items()]

    def _offer_regions(self, option: SkuOption | None) -> None:
        current = self.region.value or self.app.location
        choices = self.region_choices(option)
        regions = [region for _label, region in choices]
        keys = {region_key(r): r for r in regions}
        chosen = keys.get(region_key(current or "")) or keys.get(
            region_key(self.app.location or "")
        )
        self.region.options = choices
        self.region.value = chosen or (regions[0] if regions else None)

    def after_submit(self) -> None:
        problem = self.validate()
        deployed = self.last_outcome is not None and getattr(self.last_outcome, "value", None)
        if deployed and problem and "already exists" in problem:
            # Just deployed under this name: say so calmly (the button stays off until it changes).
            _hint(self.hint, f"Deployed '{self.name.value.strip()}'. Choose a new name to deploy "
                  "again.", _OK)  # fmt: skip

    # -- checks ---------------------------------------------------------------------------------

    def validate(self) -> str | None:
        """Check every field now; the one-line hint says what is wrong (or that all is well)."""
        problem = self._problem()
        self.problem = problem
        self.button.disabled = problem is not None
        if problem:
            _hint(self.hint, problem, _NOTE if not self.name.value.strip() else _BAD)
        else:
            _hint(self.hint, f"Ready: '{self.name.value.strip()}' is free.", _OK)
        return problem

    def _problem(self) -> str | None:
        model = self.selected
        if model is None:
            return "No model matches the search: change the search text."
        name = self.name.value.strip()
        if not name:
            return "Enter a name for the deployment."
        problem = rules.problem(rules.deployment_name, name)
        if problem:
            return problem
        existing = self.existing_deployment(name)
        if existing is not None:
            return (
                f"Deployment '{existing.name}' already exists ({existing.model_name} "
                f"{existing.model_version}, {existing.status}): choose another name."
            )
        option = self.sku_option
        if option is None:
            return f"{model.type.capitalize()} model '{model.name}' offers no SKU to deploy with."
        capacity_problem = option.capacity.problem(int(self.capacity.value))
        if capacity_problem:
            return f"For {option.name}, {capacity_problem}."
        return None

    def existing_deployment(self, name: str):
        """The deployment already called `name` (the service's short-lived list), or None."""
        wanted = name.lower()
        try:
            deployments = self.app.deployments.all()
        except AzModelsError:  # can't tell now: the service checks again when Deploy is clicked
            return None
        return next((d for d in deployments if d.name.lower() == wanted), None)

    # -- the command ----------------------------------------------------------------------------

    def argv(self) -> list[str]:
        model = self.selected
        assert model is not None
        argv = [
            "deploy",
            f"--name={model.name}",
            f"--type={model.type}",
            f"--deployment-name={self.name.value.strip()}",
            f"--sku={self.sku.value}",
            f"--capacity={int(self.capacity.value)}",
        ]
        if model.version:
            argv.append(f"--version={model.version}")
        region = self.region.value or ""
        if region and region_key(region) != region_key(self.app.location or ""):
            argv.append(f"--region={region}")
        return argv


class UploadForm(_Form):
    """Weights path (inspected as it is given), name, version, description, tags, Upload."""

    verb = "Upload"
    busy = "Uploading…"

    def __init__(self, app: Actions) -> None:
        import ipywidgets as w

        self.app = app
        self.info: WeightsInfo | None = None
        self.inspect_problem: str | None = None
        self._filled_name = ""  # the name the form filled in from the weights' file name
        # True from a successful upload until a field changes: the button waits for a change.
        self.uploaded = False
        style, wide = _style(), _layout(width="560px")
        # Values are values (the version's default, a name from the weights' file name: typed
        # over like any value); placeholders only say what to type, in light italics.
        # This machine, or a remote source storage copies itself (server side).
        self.source_kind = w.ToggleButtons(
            description="From", options=list(_SOURCE_CHOICES), value=LOCAL, style=style
        )
        self.path = w.Text(
            description="Weights", placeholder=_SOURCE_CHOICES[LOCAL][0],
            continuous_update=False, style=style, layout=wide,
        )  # fmt: skip
        self.details = w.HTML()
        self.name = w.Text(
            description="Model name", placeholder=_NAME_PLACEHOLDER, style=style, layout=wide
        )
        self.version = w.Text(
            description="Version", value=DEFAULT_VERSION, placeholder="e.g. 1", style=style,
            layout=wide,
        )  # fmt: skip
        self.description = w.Text(
            description="Description", placeholder="optional: what the model is for",
            style=style, layout=wide,
        )  # fmt: skip
        self.tags = w.Text(
            description="Tags", placeholder="optional, e.g. team=nlp, stage=dev", style=style,
            layout=wide,
        )  # fmt: skip
        self.base_model = w.Text(
            description="Base model",
            placeholder="e.g. Phi-4 (a catalog name) or an azureml://registries/... id",
            style=style, layout=wide,
        )  # fmt: skip
        self.weight_type = w.Dropdown(
            description="Weight type", options=list(rules.WEIGHT_TYPES), value="FullWeight",
            style=style, layout=wide,
        )  # fmt: skip
        self.overwrite = w.Checkbox(description="Replace the version if it exists", indent=False)
        self._build_button("upload")

        self.path.observe(lambda _c: self._changed(inspect=True), names="value")
        self.source_kind.observe(lambda _c: self._kind_changed(), names="value")
        for field in (self.name, self.version, self.description, self.tags, self.base_model,
                      self.weight_type, self.overwrite):  # fmt: skip
            field.observe(lambda _c: self._changed(), names="value")
        self.validate()
        _classes("azmodels-upload", source_kind=self.source_kind, path=self.path,
                 details=self.details, name=self.name,
                 version=self.version, description=self.description, tags=self.tags,
                 base_model=self.base_model, weight_type=self.weight_type,
                 overwrite=self.overwrite, button=self.button, hint=self.hint,
                 output=self.output)  # fmt: skip

        self.widget = w.VBox(
            [
                w.HTML("<b>Upload and register a custom model</b>" + _HINT_CSS),
                self.source_kind,
                self.path,
                self.details,
                self.name,
                self.version,
                self.description,
                self.tags,
                self.base_model,
                self.weight_type,
                self.overwrite,
                w.HBox([self.button, self.hint]),
                self.output,
            ]
        )
        self.widget.add_class("azmodels-upload-form")
        self.widget.add_class("azmodels-form")
        self.widget.form = self

    def _kind_changed(self) -> None:
        self.path.placeholder = _SOURCE_CHOICES[self.source_kind.value][0]
        self._changed(inspect=True)

    def _check_remote(self, source: str) -> None:
        """A remote source's address, checked as written (no request: the upload lists and
        reads it); its local checks are skipped."""
        kinds = _SOURCE_CHOICES[self.source_kind.value][1]
        try:
            remote = remote_source(source)
            if remote is None or remote.kind not in kinds:
                raise ValidationError(
                    f"Not a {self.source_kind.value} source: write it as the box's hint shows, "
                    "or choose another 'From'."
                )
        except AzModelsError as exc:
            self.inspect_problem = str(exc)
            _hint(self.details, self.inspect_problem, _BAD)
            return
        _hint(self.details, f"{remote.display}: listed and copied by storage when the upload "
              "starts (server side, no weight byte through this machine).", _NOTE)  # fmt: skip
        tail = source.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1].split("@", 1)[0]
        suggested = suggest_model_name(PurePosixPath(tail).stem)
        if suggested and self.name.value.strip() in ("", self._filled_name):
            self._filled_name = suggested
            self.name.value = suggested

    def _changed(self, *, inspect: bool = False) -> None:
        self.uploaded = False  # a change makes another upload possible
        if inspect:
            self.inspect()
        else:
            self.validate()

    def inspect(self) -> WeightsInfo | None:
        """Read the weights' headers: format, size and architecture, or why they can't be used."""
        source = self.path.value.strip()
        self.info, self.inspect_problem = None, None
        if not source:
            self.details.value = ""
            self.validate()
            return None
        if self.source_kind.value != LOCAL:
            self._check_remote(source)
            self.validate()
            return None
        try:
            local = LocalSource(source)
            self.info = inspect_source(local)
        except (AzModelsError, OSError) as exc:
            if isinstance(exc, AzModelsError):
                self.inspect_problem = str(exc)
            else:
                self.inspect_problem = f"Cannot read {source}: {exc.strerror or exc}."
            _hint(self.details, self.inspect_problem, _BAD)
        else:
            _hint(self.details, "Detected: " + clean(self.info.summary(), lines=False), _OK)
            # The name follows the path until the user types one of their own.
            suggested = suggest_model_name(local.root.stem)
            if suggested and self.name.value.strip() in ("", self._filled_name):
                self._filled_name = suggested
                self.name.value = suggested  # (its observer validates)
        self.validate()
        return self.info

    @property
    def model_name(self) -> str:
        return self.name.value.strip()

    @property
    def model_version(self) -> str:
        return self.version.value.strip()

    def validate(self) -> str | None:
        problem = self._problem()
        self.problem = problem
        self.button.disabled = problem is not None or self.uploaded
        if self.uploaded:
            return problem  # the hint still says what was uploaded
        if problem:
            empty = not self.path.value.strip() or not self.model_name
            _hint(self.hint, problem, _BAD if self.inspect_problem or not empty else _NOTE)
        else:
            _hint(self.hint, f"Ready to upload as {self.model_name} version "
                  f"{self.model_version}.", _OK)  # fmt: skip
        return problem

    def after_submit(self) -> None:
        done = self.last_outcome is not None and getattr(self.last_outcome, "value", None)
        self.uploaded = bool(done)
        self.validate()
        if done:  # say so, as the deploy form does (the output above has the details)
            model = self.last_outcome.value.model
            _hint(self.hint, f"Uploaded and registered {model.name} version {model.version}. "
                  "Change a field to upload again (a new version, say).", _OK)  # fmt: skip

    def _problem(self) -> str | None:
        if not self.path.value.strip():
            if self.source_kind.value != LOCAL:
                return f"Enter the {self.source_kind.value} source's address."
            return "Enter the path of a weights file or model folder."
        if self.inspect_problem:
            return self.inspect_problem
        name = self.model_name
        if not name:
            return "Enter a name for the model."
        if not self.model_version:
            return f"Enter a version (e.g. {DEFAULT_VERSION})."
        for checker, value in (
            (rules.model_name, name),
            (rules.version, self.model_version),
        ):
            problem = rules.problem(checker, value)
            if problem:
                return problem
        try:
            parse_tags(self.tags.value)
            rules.check_registration(
                base_model=self.base_model.value.strip() or None,
                weight_type=self.weight_type.value,
            )
        except ValidationError as exc:
            return str(exc)
        return None

    def argv(self) -> list[str]:
        argv = [
            "upload",
            f"--source={self.path.value.strip()}",
            f"--name={self.model_name}",
            f"--version={self.model_version}",
        ]
        description = self.description.value.strip()
        if description:
            argv.append(f"--description={description}")
        tags = parse_tags(self.tags.value)
        if tags:
            argv += ["--tags", *tags]
        base_model = self.base_model.value.strip()
        if base_model:
            argv.append(f"--base-model={base_model}")
        if self.weight_type.value != "FullWeight":
            argv.append(f"--weight-type={self.weight_type.value}")
        if self.overwrite.value:
            argv.append("--overwrite")
        return argv


def suggest_model_name(stem: str) -> str:
    """A valid model name from a file or folder name ('Tiny_Llama.v2' -> 'Tiny-Llama-v2')."""
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in stem)
    while "--" in cleaned:
        cleaned = cleaned.replace("--", "-")
    cleaned = cleaned.strip("-")
    while cleaned and not cleaned[0].isalpha():
        cleaned = cleaned[1:].lstrip("-")
    cleaned = cleaned[:30].rstrip("-")
    return cleaned if rules.MODEL_NAME.match(cleaned) else ""


def deploy_form(
    app: Actions, *, model: str | None = None, type: str | None = None,
    version: str | None = None,
):  # fmt: skip
    """The deploy form's widget (its DeployForm is `widget.form`)."""
    return DeployForm(app, model=model, type=type, version=version).widget


def upload_form(app: Actions):
    """The upload form's widget (its UploadForm is `widget.form`)."""
    return UploadForm(app).widget
