"""What the second review found in the merged work, each a test that failed before its fix."""

from __future__ import annotations

import pytest
from reliability_support import Raw, make_weights
from test_upload_guarantees import check_stored, small_blocks

from azmodels_magic.errors import OperationFailedError, ValidationError
from azmodels_magic.services.uploads import UploadService, adapter_lora


def test_a_failed_overwrite_puts_the_old_version_back_and_says_so(app, tmp_path, monkeypatch):
    """The new version's registration fails after the old one was removed: the old one is
    registered again on its own weights, and the user sees the failure and that it was put
    back (it was an AttributeError traceback, and the next command misreported it)."""
    raw = Raw(app.sandbox_info)
    old = make_weights(tmp_path / "a", seed=3)
    small_blocks(app)
    app.uploads.upload(base_model="gpt-4o", source=str(old), name="swap-back", progress=False)
    new = make_weights(tmp_path / "b", seed=4)

    def refused(self, *args, **kwargs):
        raise OperationFailedError("Register 'swap-back' version 1 ended Failed: refused.")

    monkeypatch.setattr(UploadService, "_register", refused)
    with pytest.raises(OperationFailedError) as failed:
        app.uploads.upload(
            base_model="gpt-4o", source=str(new), name="swap-back", overwrite=True, progress=False
        )
    monkeypatch.undo()
    text = str(failed.value)
    assert "put back" in text and "\n" not in text, text
    check_stored(app, raw, "swap-back", old)
    assert "never started" not in (app.run("list --type custom").to_string())


@pytest.mark.parametrize(
    "content",
    ["[" * 200_000 + "]" * 200_000, '{"r": 8, "lora_alpha": 16}' + " " * (1 << 20)],
    ids=["nested", "over-1-MiB"],
)
def test_a_hostile_adapter_config_is_one_line(tmp_path, content):
    (tmp_path / "adapter_config.json").write_text(content)
    with pytest.raises(ValidationError) as refused:
        adapter_lora(str(tmp_path))
    assert "adapter_config.json" in str(refused.value) and "\n" not in str(refused.value)
