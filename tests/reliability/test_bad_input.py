"""Bad input: wrong invocations of every command each give one clear line (no traceback) and
leave the registry, the deployments and the storage exactly as they were.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from reliability_support import BLOCK, Raw, magic_app_on, make_weights, one_line, start_app

CUSTOM = "bad-custom"
DEPLOYMENT = "existing-dep"

# (id, the %azmodels line, a piece the one line must contain). {weights}, {empty}, {fifo},
# {broken}, {text}, {missing} are paths made by the `paths` fixture.
# fmt: off
CASES = [
    # the grammar: unknown commands and flags, missing and malformed values
    ("unknown-command", "nonsense", "unknown command 'nonsense'"),
    ("unknown-flag", "list --bogus", "unrecognized arguments: --bogus"),
    ("bad-type", "list --type foo", "'foo' is not one of"),
    ("bad-format-list", "list --format xml", "'xml' is not one of"),
    ("missing-value", "list --query", "expected one argument"),
    ("bad-var", "list -o 1abc", "not a Python variable name"),
    ("broken-quote", "show 'unterminated", "cannot read the command line"),
    ("help-unknown", "help nonsense", "no help for 'nonsense'"),
    # show
    ("show-no-name", "show", "show needs a model name"),
    ("show-two-names", "show a-model --name b-model", "show got two names"),
    ("show-missing", "show no-such-model", "No model named 'no-such-model'"),
    ("show-no-version", "show gpt-4o --version 1999", "has no version 1999"),
    ("show-bad-version", "show gpt-4o --version 'v 1'", "is not a valid version"),
    ("show-bad-type", "show gpt-4o --type weird", "'weird' is not one of"),
    # upload: flags, names, versions, tags, formats, paths
    ("upload-no-flags", "upload", "the following arguments are required: --source, --name"),
    ("upload-no-name", "upload --source {weights}", "required: --name"),
    ("upload-missing-path", "upload --source {missing} --name ok-name", "does not exist"),
    ("upload-empty-folder", "upload --source {empty} --name ok-name", "empty"),
    ("upload-fifo", "upload --source {fifo} --name ok-name", "named pipe"),
    ("upload-broken-link", "upload --source {broken} --name ok-name", "gone"),
    ("upload-not-weights", "upload --source {text} --name ok-name", "notes.txt"),
    ("upload-name-digit", "upload --source {weights} --name 1bad", "not a valid model name"),
    ("upload-name-short", "upload --source {weights} --name a", "not a valid model name"),
    ("upload-name-chars", "upload --source {weights} --name has_underscore", "valid model name"),
    ("upload-name-long", "upload --source {weights} --name " + "a" * 31, "valid model name"),
    ("upload-version-space", "upload --source {weights} --name ok-name --version 'a b'",
     "not a valid version"),
    ("upload-version-neg", "upload --source {weights} --name ok-name --version -1",
     "not a valid version"),
    ("upload-tag-no-eq", "upload --source {weights} --name ok-name --tags novalue",
     "must look like key=value"),
    ("upload-tag-no-key", "upload --source {weights} --name ok-name --tags =v",
     "must look like key=value"),
    ("upload-tag-reserved", "upload --source {weights} --name ok-name --tags azmodels.sha256=x",
     "is reserved"),
    ("upload-tag-long", "upload --source {weights} --name ok-name --tags k=" + "v" * 300,
     "longer than 256"),
    ("upload-tags-empty", "upload --source {weights} --name ok-name --tags",
     "expected at least one argument"),
    ("upload-format-unknown", "upload --source {weights} --name ok-name --format zip",
     "'zip' is not one of"),
    ("upload-format-wrong", "upload --source {weights} --name ok-name --format gguf",
     "contradicts"),
    ("upload-weight-type", "upload --source {weights} --name ok-name --weight-type Huge",
     "'Huge' is not one of"),
    ("upload-base-name", "upload --source {weights} --name gpt-4o", "base model"),
    ("upload-exists", "upload --source {weights} --base-model gpt-4o --name " + CUSTOM,
     "already exists"),
    ("upload-no-base", "upload --source {weights} --name ok-name", "--base-model is required"),
    ("upload-base-id", "upload --source {weights} --name ok-name --base-model azureml://x",
     "is not an asset id"),
    ("upload-lora-rank", "upload --source {weights} --name ok-name --lora-rank 0", "> 0"),
    ("upload-bad-base", "upload --source {weights} --name ok-name --base-model no-such-base",
     "no-such-base"),
    # delete
    ("delete-no-name", "delete", "required: --name"),
    ("delete-base", "delete --name gpt-4o --force", "is a base model"),
    ("delete-missing", "delete --name no-such --force", "No custom model named 'no-such'"),
    ("delete-no-version", f"delete --name {CUSTOM} --version 7 --force", "has no version 7"),
    ("delete-unconfirmed", f"delete --name {CUSTOM}", "pass --force"),
    # update
    ("update-nothing", f"update --name {CUSTOM} --version 1", "Nothing to update"),
    ("update-no-tag", f"update --name {CUSTOM} --version 1 --remove-tag absent", "has no tag"),
    ("update-base", "update --name gpt-4o --version 1 --description x", "is a base model"),
    # deploy: names, capacity, SKU, region, versions, clashes
    ("deploy-no-deployment", "deploy --name gpt-4o", "deploy needs --deployment-name"),
    ("deploy-bad-dname", "deploy --name gpt-4o --deployment-name x",
     "not a valid deployment name"),
    ("deploy-cap-zero", "deploy --name gpt-4o --deployment-name d1 --capacity 0",
     "between 1 and"),
    ("deploy-cap-neg", "deploy --name gpt-4o --deployment-name d1 --capacity -1",
     "between 1 and"),
    ("deploy-cap-huge", "deploy --name gpt-4o --deployment-name d1 --capacity 99999999999",
     "between 1 and"),
    ("deploy-cap-nan", "deploy --name gpt-4o --deployment-name d1 --capacity ten",
     "whole number"),
    ("deploy-cap-float", "deploy --name gpt-4o --deployment-name d1 --capacity 1.5",
     "whole number"),
    ("deploy-cap-over-sku", "deploy --name gpt-4o --deployment-name d1 --capacity 999999",
     "choose a capacity in"),
    ("deploy-sku", "deploy --name gpt-4o --deployment-name d1 --sku Imaginary",
     "SKU 'Imaginary' is not offered"),
    # A custom model's SKUs are the service's to say (no list invented here): its refusal.
    ("deploy-custom-sku", f"deploy --name {CUSTOM} --deployment-name d1 --sku Standard",
     "SKU 'Standard' is not supported"),
    ("deploy-missing-model", "deploy --name no-such-model --deployment-name d1",
     "No model named 'no-such-model'"),
    ("deploy-wrong-type", f"deploy --name {CUSTOM} --deployment-name d1 --type base",
     "in the base catalog"),
    ("deploy-version", "deploy --name gpt-4o --deployment-name d1 --version 1999-01-01",
     "has no version 1999-01-01"),
    ("deploy-region", "deploy --name gpt-4o --deployment-name d1 --region mars", "--region mars"),
    ("deploy-exists", f"deploy --name gpt-4o --deployment-name {DEPLOYMENT}", "already exists"),
    # deployments
    ("deployments-unknown", "deployments frobnicate", "unknown command 'frobnicate'"),
    ("deployments-status", "deployments list --status sleeping", "'sleeping' is not one of"),
    ("deployments-format", "deployments list --format csv", "'csv' is not one of"),
    ("show-dep-no-name", "deployments show", "required: --name"),
    ("show-dep-missing", "deployments show --name ghost", "No deployment named 'ghost'"),
    ("scale-missing", "deployments scale --name ghost --capacity 2", "No deployment named"),
    ("scale-no-capacity", f"deployments scale --name {DEPLOYMENT}", "required: --capacity"),
    ("scale-zero", f"deployments scale --name {DEPLOYMENT} --capacity 0", "between 1 and"),
    ("scale-over-sku", f"deployments scale --name {DEPLOYMENT} --capacity 40000",
     "Choose a capacity in"),
    ("delete-dep-missing", "deployments delete --name ghost --force", "No deployment named"),
    ("delete-dep-unconfirmed", f"deployments delete --name {DEPLOYMENT}", "pass --force"),
    # uploads, connect, sandbox
    ("uploads-show", "uploads show --path nothing/1", "No upload 'nothing/1'"),
    ("uploads-delete", "uploads delete --path nothing/1", "No upload 'nothing/1'"),
    ("connect-endpoint", "connect --project-endpoint not-a-url", "not-a-url"),
    ("connect-both", "connect --sandbox http://127.0.0.1:1 --account a", "--sandbox takes no"),
    ("connect-no-sandbox", "connect --sandbox http://127.0.0.1:1", "No sandbox answers"),
    ("sandbox-fault-rate", "sandbox start --fault-rate 2", "from 0 to 1"),
    ("sandbox-seed", "sandbox start --seed -3", "whole number >= 0"),
    ("sandbox-page-size", "sandbox start --page-size -1", "whole number >= 0"),
    # more of the same kinds, where the checks live in the services
    ("show-extra", "show gpt-4o extra", "unrecognized arguments: extra"),
    ("show-bad-var", "show gpt-4o -o bad-var", "not a Python variable name"),
    ("update-reserved", f"update --name {CUSTOM} --version 1 --set-tag azmodels.x=1",
     "is reserved"),
    ("deploy-custom-cap", f"deploy --name {CUSTOM} --deployment-name d1 --capacity 101",
     "101"),
    ("deploy-custom-version", f"deploy --name {CUSTOM} --deployment-name d1 --version 2",
     "has no version 2"),
    ("deployments-model-empty", "deployments list --model", "expected one argument"),
    ("uploads-prefix-empty", "uploads list --prefix", "expected one argument"),
    ("connect-empty-project",
     "connect --project-endpoint https://x.services.ai.azure.com/api/projects/", "project"),
    ("connect-http-endpoint",
     "connect --project-endpoint http://x.services.ai.azure.com/api/projects/p", "https"),
]
# fmt: on


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A sandbox holding one custom model and one deployment, and the shell's app on it."""
    folder = tmp_path_factory.mktemp("bad-input")
    az = start_app()
    az.uploads.block_size = BLOCK
    az.uploads.upload(
        source=str(make_weights(folder)), name=CUSTOM, base_model="gpt-4o", progress=False
    )
    az.deployments.deploy(model="gpt-4o", deployment_name=DEPLOYMENT, capacity=1)
    yield az
    az.close()


@pytest.fixture(scope="module")
def magic_app(shell, world):
    """The %azmodels magic's own AzModels, pointed at the world's sandbox (restored after)."""
    with magic_app_on(shell, world.sandbox_info) as app:
        yield app


@pytest.fixture(scope="module")
def paths(tmp_path_factory, world) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("bad-paths")
    weights = make_weights(folder / "w")
    (folder / "empty").mkdir()
    fifo = folder / "pipe.safetensors"
    os.mkfifo(fifo)
    broken = folder / "gone.safetensors"
    broken.symlink_to(folder / "nowhere.safetensors")
    text = folder / "notes.txt"
    text.write_text("not weights\n")
    return {
        "weights": str(weights),
        "empty": str(folder / "empty"),
        "fifo": str(fifo),
        "broken": str(broken),
        "text": str(text),
        "missing": str(folder / "no" / "such.safetensors"),
    }


def state(raw: Raw) -> dict:
    snap = raw.snapshot()
    snap["containers"] = raw.blob_count()
    return snap


def test_the_battery_is_big_enough() -> None:
    assert len(CASES) >= 40
    assert len({case[0] for case in CASES}) == len(CASES)
    commands = {case[1].split()[0] for case in CASES}
    assert {"list", "show", "upload", "delete", "update", "deploy", "deployments", "uploads",
            "connect", "sandbox", "help"} <= commands  # fmt: skip


@pytest.mark.parametrize(("line", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_wrong_invocation_is_one_line_and_changes_nothing(
    shell, magic_app, world, paths, capsys, line, expected
) -> None:
    raw = Raw(world.sandbox_info)
    before = state(raw)
    capsys.readouterr()
    result = shell.run_cell(f"%azmodels {line.format(**paths)}")
    out = capsys.readouterr()
    text = out.out + out.err
    assert result.error_in_exec is not None, f"no error for {line!r}: {text}"
    assert "Traceback" not in text
    assert "InternalError" not in text, text
    assert one_line(text), f"not one line:\n{text}"
    assert expected.lower() in text.lower(), text
    assert state(raw) == before, "a refused command changed the registry or the deployments"


# -- the same mistakes through the terminal front end -------------------------------------------

CLI_CASES = [
    ("unknown-flag", ["list", "--bogus"], 2),
    ("capacity", ["deploy", "--name", "gpt-4o", "--deployment-name", "d1", "--capacity", "0"], 2),
    ("delete-base", ["delete", "--name", "gpt-4o", "--force"], 2),
    ("scale-ghost", ["deployments", "scale", "--name", "ghost", "--capacity", "2"], 1),
    ("show-missing", ["show", "no-such-model"], 1),
    ("upload-missing", ["upload", "--source", "/no/such/file", "--name", "ok-name"], 1),
]


@pytest.mark.parametrize(
    ("argv", "code"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES]
)
def test_cli_wrong_invocation(world, argv, code) -> None:
    raw = Raw(world.sandbox_info)
    before = state(raw)
    env = {**os.environ, "AZMODELS_SANDBOX": world.sandbox_info.arm_endpoint}
    done = subprocess.run(
        [sys.executable, "-m", "azmodels_magic.cli", *argv],
        env=env, capture_output=True, text=True, timeout=60, cwd=Path(__file__).parent,
    )  # fmt: skip
    assert done.returncode == code, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith("error: ") and one_line(done.stderr), done.stderr
    assert "Traceback" not in done.stderr
    assert state(raw) == before
