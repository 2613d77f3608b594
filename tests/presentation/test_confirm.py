"""`delete` without --force in a notebook: the command hands back a confirmation widget; only
typing the exact name and clicking deletes."""

from __future__ import annotations

import os
import subprocess
import sys

from presentation_support import *  # noqa: F403 (the shared fixtures)
from presentation_support import output_text

from azmodels_magic.errors import NotFoundError
from azmodels_magic.steps import NOTEBOOK


def test_delete_in_a_notebook_waits_for_the_typed_name(app, weights, unique):
    name = unique("confirm-me")
    app.uploads.upload(
        base_model="gpt-4o", source=str(weights), name=name, version="1", progress=False
    )
    outcome = app.execute(["delete", f"--name={name}", "--version=1"], front_end=NOTEBOOK)
    assert outcome.message == f"Confirm below to delete custom model '{name}' version 1."
    box = outcome.value.children[1].children  # the name field and the button
    text, button = box
    assert app.models.find(name, type="custom", version="1").version == "1"  # nothing yet

    text.value = name[:-1]  # not the name: the button stays off, a click does nothing
    assert button.disabled
    button.click()
    assert app.models.find(name, type="custom", version="1").version == "1"

    text.value = name
    assert not button.disabled
    button.click()
    assert button.disabled and text.disabled  # once only
    app.models.custom_models(refresh=True)
    try:
        app.models.find(name, type="custom", version="1")
    except NotFoundError:
        pass
    else:
        raise AssertionError("the confirmed delete did not delete the model")
    shown = output_text(outcome.value.children[2])
    assert shown.startswith(f"Deleted custom model '{name}' version 1")


def test_end_of_input_at_a_terminal_prompt_cancels_in_one_line(app, unique):
    """Ctrl-D at `azmodels deployments delete`'s prompt (stdin closed: input() meets its end):
    one line saying nothing changed, exit 1, not an internal error."""
    name = unique("confirm-eof")
    app.deployments.deploy(model="gpt-4o-mini", deployment_name=name, wait=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "AZMODELS_"))}
    env.update(AZMODELS_SANDBOX=app.sandbox_info.arm_endpoint, AZMODELS_INTERACTIVE="terminal")
    done = subprocess.run(
        [sys.executable, "-m", "azmodels_magic.cli", "deployments", "delete", name],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    [line] = done.stderr.splitlines()
    assert line == "error: Nothing was deleted: the confirmation was cancelled.", line
    assert app.deployments.show(name).name == name  # still there
    app.deployments.delete(name, wait=False)


def test_ctrl_c_at_a_terminal_prompt_cancels_in_one_line(app, unique):
    """In a real terminal (a pty): Ctrl-C at the prompt is a "no", one line, nothing deleted."""
    import pty

    name = unique("confirm-int")
    app.deployments.deploy(model="gpt-4o-mini", deployment_name=name, wait=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "AZMODELS_"))}
    env.update(AZMODELS_SANDBOX=app.sandbox_info.arm_endpoint, AZMODELS_INTERACTIVE="terminal")
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI, its stdin, stdout and stderr the pty
        os.execve(sys.executable,
                  [sys.executable, "-m", "azmodels_magic.cli", "deployments", "delete", name],
                  env)  # fmt: skip
    shown = b""
    try:
        while b"Type '" not in shown:
            shown += os.read(fd, 4096)
        os.write(fd, b"\x03")  # Ctrl-C: the terminal sends SIGINT to the CLI
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the pty
                break
            if not chunk:
                break
            shown += chunk
    finally:
        _, status = os.waitpid(pid, 0)
    text = shown.decode("utf-8", "replace")
    after = text.split("(anything else cancels): ", 1)[1]
    lines = [line for line in after.replace("^C", "").splitlines() if line.strip()]
    assert lines == ["error: Nothing was deleted: the confirmation was cancelled."], text
    assert os.waitstatus_to_exitcode(status) == 1
    assert app.deployments.show(name).name == name  # still there
    app.deployments.delete(name, wait=False)
