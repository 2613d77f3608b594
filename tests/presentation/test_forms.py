"""The deploy and upload forms: live checks, and buttons that do the real thing in the sandbox."""

from __future__ import annotations

import re

import pytest
from presentation_support import *  # noqa: F403 (the shared fixtures)
from presentation_support import output_text

from azmodels_magic.presentation.forms import (
    DeployForm,
    UploadForm,
    command_line,
    parse_tags,
    suggest_model_name,
)

# -- the deploy form -----------------------------------------------------------------------------


def test_picker_holds_base_and_custom_models_labelled_by_type(app, custom_model):
    form = DeployForm(app)
    labels = [label for label, _key in form.model.options]
    assert "gpt-4.1 2025-04-14 (base)" in labels
    assert f"tiny-custom {custom_model.version} (custom)" in labels
    assert labels[0].endswith("(custom)")  # your own models first
    assert form.region.value == app.location


def test_retired_versions_are_marked_after_live_ones_and_warned_beside_the_choice(app, shell):
    """A retired version is labelled so, listed after every live one; choosing it says so beside
    the picker with a live model to use, and a deploy still goes ahead with the warning first."""
    form = DeployForm(app)
    labels = [label for label, key in form.model.options if key.startswith("base")]
    retired = [i for i, label in enumerate(labels) if label.endswith("(base, retired)")]
    assert "gpt-4o 2024-11-20 (base, retired)" in labels
    assert retired and retired == list(range(len(labels) - len(retired), len(labels)))
    assert not getattr(form.selected, "retired", False)  # it starts on a live one
    assert form.model_note.value == ""
    form.model.value = form.key_for("gpt-4o")
    note = form.model_note.value
    assert "Retired on" in note and "choose gpt-4.1 2025-04-14 instead" in note, note
    form.model.value = form.key_for("gpt-4.1")
    assert form.model_note.value == ""


def test_search_filters_the_picker(app):
    form = DeployForm(app)
    form.search.value = "mini"
    labels = [label for label, _key in form.model.options]
    assert labels and all("mini" in label.lower() for label in labels)
    assert form.model.value == form.model.options[0][1]
    form.search.value = "no-such-model-anywhere"
    assert form.model.options == ()
    assert form.model.value is None
    assert "No model matches" in form.problem
    assert form.button.disabled
    form.search.value = ""
    assert len(form.model.options) == len(form.choices)


def test_capacity_is_a_bounded_number_for_a_wide_range_and_a_slider_for_a_small_one(app):
    form = DeployForm(app, model="gpt-4o")
    assert form.selected.name == "gpt-4o" and form.selected.is_default_version
    assert form.sku.value == "GlobalStandard"
    # 1-30000: a slider could not be dragged to 5, so a number box bounded to the range.
    assert form.capacity is form.capacity_number
    assert form.capacity_box.children == (form.capacity_number,)
    assert (form.capacity.min, form.capacity.max, form.capacity.value) == (1, 30000, 10)
    form.capacity.value = 99_999  # the box keeps it in range, as typing over it does
    assert form.capacity.value == 30000
    form.sku.value = "ProvisionedManaged"
    assert (form.capacity.min, form.capacity.max, form.capacity.step) == (50, 10000, 50)
    assert form.capacity.value == 50
    assert "50-10000 in steps of 50" in form.capacity_range.value
    form.sku.value = "Standard"
    assert (form.capacity.min, form.capacity.max, form.capacity.step) == (1, 300, 1)
    assert form.capacity.value == 10
    # dall-e-3 takes 1-10: every value can be dragged to, so a slider.
    form.model.value = form.key_for("dall-e-3")
    assert form.capacity is form.capacity_slider
    assert form.capacity_box.children == (form.capacity_slider,)
    assert (form.capacity.min, form.capacity.max, form.capacity.value) == (1, 10, 2)
    form.model.value = form.key_for("gpt-4o")  # and back: a number box again
    assert form.capacity is form.capacity_number and form.capacity.max == 30000


def test_region_is_a_choice_of_where_the_model_is_offered(app, custom_model):
    form = DeployForm(app, model="gpt-4o")
    regions = [region for _label, region in form.region.options]
    labels = dict((region, label) for label, region in form.region.options)
    # The sandbox's catalog offers gpt-4o in eastus (the account's) and swedencentral.
    assert regions == ["eastus", "swedencentral"]
    assert form.region.value == app.location == "eastus"
    assert re.fullmatch(r"eastus \(azmodels-sandbox: \d+ available\)", labels["eastus"])
    assert labels["swedencentral"] == "swedencentral (no account of yours)"
    assert not any(word.startswith("--region") for word in form.argv())  # the default region
    form.region.value = "swedencentral"
    assert "--region=swedencentral" in form.argv()
    form.sku.value = "Standard"  # the region stays while the SKU is offered there
    assert form.region.value == "swedencentral"
    # A custom model deploys through the connected account: its region is the one choice.
    form.model.value = form.key_for("tiny-custom", type="custom")
    assert [region for _label, region in form.region.options] == ["eastus"]


def test_skus_follow_the_model(app, custom_model):
    form = DeployForm(app)
    form.model.value = form.key_for("tiny-custom", type="custom")
    # No catalog base: the evidence's default (azd PR 7283), the service checks the range.
    assert list(form.sku.options) == ["GlobalProvisionedManaged"]
    assert form.capacity.value == 80
    form.model.value = form.key_for("gpt-4o", version="2024-11-20")
    assert "DataZoneStandard" in form.sku.options


def test_live_validation_of_the_deployment_name(app, unique):
    taken = unique("taken")
    app.deployments.deploy(model="gpt-4o-mini", deployment_name=taken)
    form = DeployForm(app, model="gpt-4o")
    assert form.problem == "Enter a name for the deployment."
    assert form.button.disabled
    form.name.value = "bad name!"
    assert "not a valid deployment name" in form.problem
    assert "not a valid deployment name" in form.hint.value
    form.name.value = taken.upper()  # names are compared without case
    assert "already exists" in form.problem and taken in form.problem
    assert form.button.disabled
    form.name.value = unique("fresh")
    assert form.problem is None
    assert not form.button.disabled
    assert "is free" in form.hint.value


def test_clicking_deploy_creates_the_deployment(app, unique, shell):
    name = unique("chat")
    form = DeployForm(app)
    form.model.value = form.key_for("gpt-4o-mini")
    form.name.value = name
    form.sku.value = "Standard"
    form.capacity.value = 20
    assert command_line(form.argv()).startswith(
        f"%azmodels deploy --name gpt-4o-mini --type base --deployment-name {name} "
        "--sku Standard --capacity 20"
    )
    form.button.click()
    deployment = app.deployments.get(name)
    assert (deployment.sku, deployment.capacity, deployment.status) == ("Standard", 20, "Running")
    text = output_text(form.output)
    assert f"Deployment '{name}' of base model gpt-4o-mini" in text
    assert any("text/html" in (o.get("data") or {}) for o in form.output.outputs)  # the card
    assert form.last_outcome.value.deployment.name == name
    # the name is taken now: the form says so before anyone clicks twice
    assert "already exists" in form.problem and form.button.disabled
    assert f"Deployed &#x27;{name}&#x27;" in form.hint.value
    assert form.button.description == "Deploy"


def test_deploy_form_deploys_a_custom_model(app, custom_model, unique):
    name = unique("mine")
    form = DeployForm(app, model="tiny-custom", type="custom")
    form.name.value = name
    form.capacity.value = 120
    form.submit()
    deployment = app.deployments.get(name)
    assert (deployment.type, deployment.model_name, deployment.capacity) == (
        "custom", "tiny-custom", 120,
    )  # fmt: skip


def test_a_refused_deploy_is_one_line_in_the_output(app, unique):
    name = unique("elsewhere")
    form = DeployForm(app, model="gpt-4o")
    form.name.value = name
    form.region.value = "swedencentral"  # offered there, but no account of yours is
    form.button.click()
    assert len(form.output.outputs) == 2  # the command line, then the error
    error = form.output.outputs[-1]["data"]
    assert error["text/plain"].startswith("ValidationError: --region swedencentral")
    assert "\n" not in error["text/plain"]
    assert 'class="azmodels-error"' in error["text/html"]
    assert name not in {d.name for d in app.deployments.all(refresh=True)}
    assert not form.button.disabled  # fix the region and try again


def test_an_unexpected_error_is_one_line_too(app, unique, monkeypatch):
    form = DeployForm(app, model="gpt-4o")
    form.name.value = unique("boom")

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(app, "execute", broken)
    form.button.click()
    text = output_text(form.output).strip().splitlines()
    assert text[-1].startswith("InternalError: RuntimeError: boom. This is a bug")
    assert "Traceback" not in output_text(form.output)


def test_clicking_an_invalid_form_explains_instead_of_running(app):
    form = DeployForm(app, model="gpt-4o")
    form.name.value = "x"  # too short
    form.submit()
    assert output_text(form.output).startswith("ValidationError: 'x' is not a valid deployment")


def test_deploy_with_no_flags_in_a_notebook_is_the_form(shell, magics):
    widget = shell.run_line_magic("azmodels", "deploy")
    assert isinstance(widget.form, DeployForm)
    assert widget.form.button in widget.children[-2].children


# -- the upload form -----------------------------------------------------------------------------


def test_the_path_shows_format_size_and_details(app, weights, tmp_path):
    form = UploadForm(app)
    assert form.button.disabled
    form.path.value = str(tmp_path / "missing.safetensors")
    assert "does not exist" in form.details.value
    assert "does not exist" in form.problem
    form.path.value = str(weights)
    form.base_model.value = "gpt-4o"
    assert "safetensors, 1 file, 216 B, 40 parameters (F16, F32)" in form.details.value
    # Real values are values: the name from the file name, the default version; the
    # placeholders stay hints ("e.g. ..."), never mistaken for what will be sent.
    assert form.name.value == "tiny-model" and form.version.value == "1"
    assert form.name.placeholder.startswith("e.g. ") and form.version.placeholder == "e.g. 1"
    assert form.tags.placeholder.startswith("optional, e.g. ")
    assert form.model_name == "tiny-model" and form.model_version == "1"
    assert form.problem is None and not form.button.disabled
    assert "Ready to upload as tiny-model version 1." in form.hint.value
    assert "--name=tiny-model" in form.argv() and "--version=1" in form.argv()
    form.path.value = str(weights.with_name("missing.safetensors"))  # unreadable: name kept
    assert form.name.value == "tiny-model"
    other = weights.with_name("other_name.safetensors")
    other.write_bytes(weights.read_bytes())
    form.path.value = str(other)  # the name the form filled follows the path
    assert form.name.value == "other-name"
    form.name.value = "typed-name"  # typed: a new path no longer renames it
    form.path.value = ""
    form.path.value = str(weights)
    assert form.model_name == "typed-name" and "--name=typed-name" in form.argv()
    form.version.value = ""
    assert form.problem == "Enter a version (e.g. 1)." and form.button.disabled


def test_a_model_folder_shows_its_architecture(app, tmp_path):
    from azmodels_magic.sample_weights import make_model_folder

    folder = make_model_folder(tmp_path / "tiny-llama", shards=2)
    form = UploadForm(app)
    form.path.value = str(folder)
    form.base_model.value = "gpt-4o"
    assert "architecture LlamaForCausalLM" in form.details.value
    assert form.model_name == "tiny-llama" == form.name.value


def test_bad_name_version_or_tags_hold_the_button(app, weights):
    form = UploadForm(app)
    form.path.value = str(weights)
    form.base_model.value = "gpt-4o"
    form.name.value = "1-starts-with-a-digit"
    assert "not a valid model name" in form.problem and form.button.disabled
    form.name.value = "good-name"
    form.version.value = "v 1"
    assert "not a valid version" in form.problem
    form.version.value = "1"
    form.tags.value = "team=nlp, oops"
    assert "must look like key=value" in form.problem
    form.tags.value = "team=nlp, azmodels.size=3"
    assert "reserved" in form.problem
    form.tags.value = "team=nlp, stage=dev"
    assert form.problem is None


def test_clicking_upload_registers_the_model(app, weights, unique, monkeypatch):
    name = unique("uploaded")
    monkeypatch.setattr(app, "progress", True)  # the tqdm bar goes into the form
    form = UploadForm(app)
    form.path.value = str(weights)
    form.base_model.value = "gpt-4o"
    form.name.value = name
    form.version.value = "3"
    form.description.value = "from the form"
    form.tags.value = "team=nlp, stage=dev"
    form.button.click()
    model = app.models.find(name, type="custom")
    assert (model.version, model.description) == ("3", "from the form")
    assert model.user_tags == {"team": "nlp", "stage": "dev"}
    assert model.format == "safetensors" and model.size == 216
    text = output_text(form.output)
    assert f"Model registered: {name} version 3" in text
    assert "100%" in text  # the progress bar, inside the form's output
    assert f"Uploaded and registered {name} version 3." in form.hint.value  # as deploy says
    assert form.button.disabled and form.problem is None  # done: no second click by mistake
    form.description.value = "from the form, again"  # any change: the button is back
    assert not form.button.disabled and "Ready to upload" in form.hint.value
    # Once more: the version exists now, and the service says so in one line.
    form.button.click()
    assert "already exists" in output_text(form.output).strip().splitlines()[-1]
    assert not form.button.disabled  # a refusal: fix a field and try again


def test_upload_with_no_flags_in_a_notebook_is_the_form(shell, magics):
    widget = shell.run_line_magic("azmodels", "upload")
    assert isinstance(widget.form, UploadForm)


def test_upload_with_no_flags_elsewhere_is_a_usage_error(shell, capsys):
    result = shell.run_cell("%azmodels upload")
    assert result.error_in_exec is not None
    out = capsys.readouterr()
    assert "required: --source, --name" in out.out + out.err


@pytest.mark.parametrize(
    ("stem", "name"),
    [
        ("tiny_model", "tiny-model"),
        ("Llama-3.1_8B", "Llama-3-1-8B"),
        ("7b-chat", "b-chat"),
        ("123", ""),
    ],
)
def test_suggested_names_follow_the_grammar(stem, name):
    assert suggest_model_name(stem) == name


def test_tags_text_splits_on_commas():
    assert parse_tags(" a=1, b=two words ,\nc=") == ["a=1", "b=two words", "c="]


def test_deploy_form_starts_on_a_recommended_version(app):
    form = DeployForm(app)
    chosen = form.selected
    assert chosen is not None
    assert getattr(chosen, "is_default_version", True)


def test_the_source_choice_changes_the_hint_and_skips_local_checks_for_remote_sources(app):
    form = UploadForm(app)
    assert form.source_kind.value == "This machine"
    local_hint = form.path.placeholder
    form.source_kind.value = "Hugging Face"
    assert form.path.placeholder.startswith("e.g. hf://ORG/REPO")
    assert form.path.placeholder != local_hint
    assert form.problem == "Enter the Hugging Face source's address."
    form.path.value = "hf://sandbox-org/tiny-chat@main"
    form.base_model.value = "gpt-4o"
    # Not a local path (which would not exist): checked as written, copied server side.
    assert form.problem is None and not form.button.disabled, form.problem
    assert "copied by storage" in form.details.value
    assert form.model_name == "tiny-chat"
    assert "--source=hf://sandbox-org/tiny-chat@main" in form.argv()
    form.path.value = "./model.safetensors"  # a local path under Hugging Face: said plainly
    assert form.problem.startswith("Not a Hugging Face source") and form.button.disabled
    form.source_kind.value = "URL"
    assert "https" in form.path.placeholder
    form.path.value = "https://example.invalid/weights/model.safetensors"
    assert form.problem is None, form.problem
    form.path.value = "ftp://example.invalid/model.safetensors"
    assert "ftp:// is not a source" in form.problem
