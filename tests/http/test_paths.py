"""User-typed names are one URL path segment each: `#`, `/` and `..` reach nothing else."""

from __future__ import annotations

import pytest

from azmodels_magic.clients.foundry import FoundryClient
from azmodels_magic.errors import NotFoundError, ValidationError
from azmodels_magic.http.plane import segment


def test_segment_quotes_everything_that_could_change_the_path():
    assert segment("gpt-4o-mini_2024.07.18") == "gpt-4o-mini_2024.07.18"
    assert segment("chat#old") == "chat%23old"
    assert segment("../x") == "..%2Fx"
    assert segment("a?b c") == "a%3Fb%20c"
    for climbing in (".", ".."):
        with pytest.raises(ValidationError, match="not a valid name"):
            segment(climbing)


def test_foundry_version_paths_quote_name_and_version():
    assert FoundryClient._version_path("my/model", "1#2") == "/models/my%2Fmodel/versions/1%232"


def test_deleting_a_name_with_a_hash_does_not_delete_its_prefix(app):
    app.execute("deploy --name gpt-4o-mini --deployment-name chat")
    with pytest.raises(NotFoundError):
        app.execute('deployments delete --name "chat#old" --force')
    with pytest.raises(NotFoundError):
        app.execute('deployments delete --name "x/../chat" --force')
    assert app.deployments.get("chat").name == "chat"
