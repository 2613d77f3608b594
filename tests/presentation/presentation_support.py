"""Fixtures for the notebook front ends: tiny weights, a custom model, a shell 'in a notebook'.

Imported by the test modules (not a conftest.py: a second module named `conftest` would shadow
tests/conftest.py for modules that import `start_app` from it).
"""

from __future__ import annotations

import itertools

import pytest

__all__ = ["custom_model", "magics", "output_text", "unique", "weights"]

_counter = itertools.count(1)


def output_text(output) -> str:
    """What an Output widget holds, as text (streams and the text/plain of displayed values)."""
    parts = []
    for item in output.outputs:
        if item.get("output_type") == "stream":
            parts.append(item.get("text", ""))
        else:
            data = item.get("data") or {}
            text = data.get("text/plain", "")
            parts.append(text if text.endswith("\n") else text + "\n")
    return "".join(parts)


@pytest.fixture
def unique():
    """A fresh name per call: 'prefix-<n>' (names must not clash inside one sandbox)."""
    return lambda prefix: f"{prefix}-{next(_counter)}"


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A tiny safetensors file (216 bytes, 40 parameters)."""
    from azmodels_magic.sample_weights import write_safetensors

    path = tmp_path_factory.mktemp("weights") / "tiny_model.safetensors"
    return write_safetensors(path, {"w": ("F16", (4, 8)), "b": ("F32", (8,))})


@pytest.fixture(scope="module")
def custom_model(app, weights):
    """A registered custom model in the module's sandbox."""
    report = app.uploads.upload(
        base_model="gpt-4o", source=str(weights), name="tiny-custom", progress=False
    )
    return report.model


@pytest.fixture
def magics(shell, app, monkeypatch):
    """The shell's %azmodels, pointed at the module's sandbox, believing it is in a notebook
    (where it shows forms and asks with widgets)."""
    from azmodels_magic.steps import NOTEBOOK

    registered = shell.magics_manager.registry["AzModelsMagics"]
    monkeypatch.setattr(registered, "app", app)
    monkeypatch.setattr(registered, "front_end", lambda: NOTEBOOK)
    return registered
