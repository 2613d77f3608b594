"""Tab completion of `%azmodels` through IPython's own completer, and its cache behaviour."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from IPython.core.completer import provisionalcompleter

from azmodels_magic.cache import TtlCache
from azmodels_magic.completion import AzModelsCompleter, register, unregister


@pytest.fixture(scope="module")
def names(app, tmp_path_factory):
    """A custom model and a deployment in the module's sandbox."""
    from azmodels_magic.sample_weights import write_safetensors

    weights = write_safetensors(
        tmp_path_factory.mktemp("w") / "w.safetensors", {"w": ("F16", (4, 4))}
    )
    app.uploads.upload(base_model="gpt-4o", source=str(weights), name="my-tuned", progress=False)
    app.deployments.deploy(model="gpt-4o", deployment_name="chat-prod")
    return SimpleNamespace(custom="my-tuned", deployment="chat-prod")


@pytest.fixture
def complete(shell, app, names, monkeypatch):
    """Complete a line as the notebook does (IPython's completions API, cursor at the end)."""
    registered = shell.magics_manager.registry["AzModelsMagics"]
    monkeypatch.setattr(registered, "app", app)
    app.models.custom_models()  # what a notebook session has seen already
    app.deployments.all()

    def run(line: str, *, full_text: str | None = None) -> list[str]:
        text = full_text if full_text is not None else line
        with provisionalcompleter():
            return [c.text for c in shell.Completer.completions(text, len(text))]

    return run


def test_commands(complete):
    assert complete("%azmodels dep") == ["deploy", "deployments"]
    found = complete("%azmodels ")
    assert {"list", "show", "upload", "deploy", "deployments", "uploads", "connect"} <= set(found)
    assert "and" not in found and "abs" not in found  # nothing of Python's mixed in


def test_actions_of_a_group(complete):
    assert complete("%azmodels deployments ") == ["list", "show", "scale", "delete", "key"]
    assert complete("%azmodels deployments sc") == ["scale"]
    assert complete("%azmodels uploads l") == ["list"]
    assert complete("%azmodels uploads p") == ["prune"]


def test_flags(complete):
    flags = complete("%azmodels deploy --")
    assert flags[:3] == ["--name", "--deployment-name", "--type"]
    assert "--help" in flags
    assert complete("%azmodels deploy --de") == ["--deployment-name"]
    used = complete("%azmodels deploy --name gpt-4o --")
    assert "--name" not in used and "--deployment-name" in used
    assert complete("%azmodels deployments scale --c") == ["--capacity"]
    assert complete("%azmodels upload --source x --name m --lora-") == [
        "--lora-rank", "--lora-alpha", "--lora-target-modules", "--lora-dropout",
    ]  # fmt: skip
    assert complete("%azmodels upload --source x --name m --pub") == ["--publisher"]
    assert complete("%azmodels upload --source x --name m --weight-type D") == ["DraftModel"]


def test_choices(complete):
    assert complete("%azmodels list --type ") == ["base", "custom", "all"]
    assert complete("%azmodels deployments list --status r") == ["running"]
    assert complete("%azmodels upload --source x --name m --format g") == ["gguf"]


def test_model_names_after_name(complete, names):
    assert complete("%azmodels deploy --name gpt-4o-m") == ["gpt-4o-mini"]
    found = complete("%azmodels deploy --name ")
    assert names.custom in found and "gpt-4o" in found
    assert complete("%azmodels show my-t") == [names.custom]  # show NAME
    assert complete("%azmodels deploy --name=gpt-4o-m") == ["gpt-4o-mini"]
    assert complete("%azmodels delete --name ") == [names.custom]  # custom models only
    assert complete("%azmodels deployments list --model gpt-4o-m") == ["gpt-4o-mini"]


def test_deployment_names(complete, names):
    assert complete("%azmodels deployments scale --name ") == [names.deployment]
    assert complete("%azmodels deployments delete --name chat") == [names.deployment]
    assert complete("%azmodels deployments key --name ") == [names.deployment]
    assert complete("%azmodels deployments show --name zzz") == []


def test_bare_words_complete_as_their_flags_do(complete, names):
    assert complete("%azmodels deployments key ") == [names.deployment]
    assert complete("%azmodels deployments show chat") == [names.deployment]
    assert complete("%azmodels regions gpt-4o-m") == ["gpt-4o-mini"]
    assert complete("%azmodels delete ") == [names.custom]
    # the named model, as a bare word, is the one its versions and SKUs come from
    assert complete("%azmodels deploy gpt-4o --version ") == ["2024-08-06", "2024-11-20"]
    assert complete("%azmodels regions gpt-4o --sku GlobalS") == ["GlobalStandard"]
    # given as --name, the bare word is not offered again: flags come next
    after_flag = complete("%azmodels deployments show --name chat-prod ")
    assert names.deployment not in after_flag and "--metrics" in after_flag


def test_upload_paths(complete, names):
    found = complete("%azmodels uploads show ")
    assert f"{names.custom}/1" in found
    assert complete("%azmodels uploads delete --path my-t") == [f"{names.custom}/1"]


def test_every_kind_a_command_declares_is_completed(complete):
    """Each value kind the table declares has a source of names (no kind left unanswered)."""
    from azmodels_magic.commands.table import Kind, commands

    declared = {a.kind for c in commands().values() for a in c.options()}
    lines = {
        Kind.MODEL: "%azmodels show gpt-4o-m",
        Kind.CUSTOM_MODEL: "%azmodels update --name my-t",
        Kind.BASE_MODEL: "%azmodels quota --model gpt-4o-m",
        Kind.VERSION: "%azmodels show gpt-4o --version 2024-1",
        Kind.SKU: "%azmodels deploy --name gpt-4o --sku GlobalS",
        Kind.MODEL_FORMAT: "%azmodels deploy --name gpt-4o --model-format O",
        Kind.NEW_DEPLOYMENT: "%azmodels deploy --name gpt-4o-mini --deployment-name ",
        Kind.DEPLOYMENT: "%azmodels deployments delete chat",
        Kind.UPLOAD_PATH: "%azmodels uploads show my-t",
        Kind.REGION: "%azmodels quota --region east",
        Kind.ACCOUNT: "%azmodels connect --account ",
        Kind.LOCAL_PATH: "%azmodels upload --source /",
    }
    assert declared - {Kind.TEXT} == set(lines)
    for line in lines.values():
        wait_for(lambda line=line: complete(line) != [])


def test_deployment_name_suggests_a_free_one(complete, names, app):
    assert complete("%azmodels deploy --name gpt-4o-mini --deployment-name ") == ["gpt-4o-mini"]
    app.deployments.deploy(model="gpt-4o-mini", deployment_name="gpt-4o-mini")
    line = "%azmodels deploy --name gpt-4o-mini --deployment-name "
    wait_for(lambda: complete(line) == ["gpt-4o-mini-2"])  # reloaded (in the background)


def test_versions_and_skus_of_the_named_model(complete):
    assert complete("%azmodels deploy --name gpt-4o --version ") == ["2024-08-06", "2024-11-20"]
    assert complete("%azmodels show gpt-4o --version 2024-1") == ["2024-11-20"]
    skus = complete("%azmodels deploy --name gpt-4o --sku Global")
    assert skus == ["GlobalStandard", "GlobalProvisionedManaged"]
    # A custom model without a catalog base: the evidence's default (azd PR 7283), nothing invented.
    assert complete("%azmodels deploy --name my-tuned --sku ") == ["GlobalProvisionedManaged"]
    assert complete("%azmodels deploy --name my-tuned --model-format ") == ["FireworksCustom"]
    assert complete("%azmodels deploy --name gpt-4o --model-format ") == ["OpenAI"]


def test_paths_after_source(complete, tmp_path):
    (tmp_path / "weights.safetensors").write_bytes(b"x")
    (tmp_path / "folder").mkdir()
    found = complete(f"%azmodels upload --source {tmp_path}/")
    assert sorted(found) == [f"{tmp_path}/folder/", f"{tmp_path}/weights.safetensors"]


def test_lines_of_a_cell_magic(complete):
    cell = "%%azmodels\nlist --type base\ndeployments sc"
    assert complete("", full_text=cell) == ["scale"]


@pytest.mark.filterwarnings("ignore:`Completer.complete` is pending deprecation")
def test_the_legacy_complete_api(shell, complete):
    complete("%azmodels ")  # the same app as the other tests
    text, matches = shell.complete(None, "%azmodels deployments sh")
    assert (text, matches) == ("sh", ["show"])


def test_other_lines_are_not_ours(complete):
    found = complete("import o")
    assert "os" in found


def test_names_follow_changes(complete, app):
    app.deployments.deploy(model="gpt-4o-mini", deployment_name="chat-new")  # empties the cache
    wait_for(lambda: "chat-new" in complete("%azmodels deployments show --name chat"))


def test_unregister_and_register_again(shell, complete):
    registered = shell.magics_manager.registry["AzModelsMagics"]
    unregister(shell)
    try:
        assert "deploy" not in complete("%azmodels dep")
    finally:
        register(shell, registered)
    assert complete("%azmodels dep") == ["deploy", "deployments"]


# -- the cache: never block long, refresh at most once per lifetime --------------------------------


class FakeApp:
    """Just what the completer reads: app.models.cache / .catalog() and cache_seconds."""

    def __init__(self, clock, *, delay: float = 0.0, seconds: float = 30.0) -> None:
        self.cache_seconds = seconds
        self.loads = 0
        self.delay = delay
        self.names = ["alpha", "beta"]
        cache = TtlCache(seconds, clock=clock)
        self.models = SimpleNamespace(cache=cache, catalog=self._catalog, custom_models=list)
        self.deployments = SimpleNamespace(all=list)

    def _catalog(self):
        return self.models.cache.get("catalog", self._load)

    def _load(self):
        self.loads += 1
        time.sleep(self.delay)
        return [SimpleNamespace(name=n, version="1", skus=()) for n in self.names]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wait_for(condition, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not condition() and time.monotonic() < end:
        time.sleep(0.01)
    assert condition()


def test_a_missing_list_is_loaded_once_and_reused():
    clock = Clock()
    app = FakeApp(clock)
    completer = AzModelsCompleter(SimpleNamespace(app=app), clock=clock)
    completer.model_names(custom=False)
    wait_for(lambda: completer.model_names(custom=False) == ["alpha", "beta"])
    for _ in range(5):
        completer.model_names(custom=False)
    assert app.loads == 1


def test_a_slow_service_never_blocks_completion_long():
    clock = Clock()
    app = FakeApp(clock, delay=1.0)
    completer = AzModelsCompleter(SimpleNamespace(app=app), budget=0.1, clock=clock)
    started = time.monotonic()
    assert completer.complete("%azmodels show ") == []  # not loaded yet: nothing, at once
    assert time.monotonic() - started < 0.5
    wait_for(lambda: app.models.cache.peek("catalog") is not None)
    assert completer.complete("%azmodels show ") == ["alpha", "beta"]
    assert app.loads == 1


def test_a_stale_list_is_used_while_it_refreshes_once_per_lifetime():
    clock = Clock()
    app = FakeApp(clock, seconds=30)
    completer = AzModelsCompleter(SimpleNamespace(app=app), clock=clock)
    completer.model_names(custom=False)
    assert app.loads == 1
    clock.now += 31  # stale now
    app.names = ["alpha", "beta", "gamma"]
    app.delay = 0.5
    started = time.monotonic()
    assert completer.model_names(custom=False) == ["alpha", "beta"]  # the stale list, at once
    assert time.monotonic() - started < 0.3
    for _ in range(5):  # a refresh is running: no second one
        completer.model_names(custom=False)
    wait_for(lambda: len(app.models.cache.peek("catalog")) == 3)
    assert app.loads == 2
    assert "gamma" in completer.model_names(custom=False)
    clock.now += 10  # within the new lifetime: no refresh
    completer.model_names(custom=False)
    time.sleep(0.05)
    assert app.loads == 2


def test_a_failing_service_is_not_asked_at_every_tab():
    clock = Clock()
    calls = []

    def failing():
        calls.append(1)
        raise RuntimeError("not connected")

    app = FakeApp(clock)
    app.models.catalog = failing
    completer = AzModelsCompleter(SimpleNamespace(app=app), clock=clock)
    for _ in range(5):
        assert completer.model_names(custom=False) == []
    assert len(calls) == 1
    clock.now += 31  # a lifetime later: one more try
    wait_for(lambda: completer.model_names(custom=False) == [] and len(calls) == 2)


def test_a_broken_app_completes_nothing_rather_than_failing():
    completer = AzModelsCompleter(SimpleNamespace(app=None))
    event = SimpleNamespace(text_until_cursor="%azmodels show x")
    assert completer(None, event) == []
