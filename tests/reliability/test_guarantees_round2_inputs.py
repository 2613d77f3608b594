"""Issue 17, round two of the outside probe: inputs that broke a promise.

- Break 7: a name with a trailing newline passes no rule (client and sandbox).
"""

from __future__ import annotations

import pytest
from reliability_support import Raw


@pytest.fixture(scope="module")
def raw(app):
    return Raw(app.sandbox_info)


# -- break 7: rules match the whole string --------------------------------------------------


NEWLINE_VALUES = {
    "model_name": "m1\n",
    "version": "1\n",
    "deployment_name": "d1\n",
    "model_format": "OpenAI\n",
    "tag_key": "team\n",
    "var_name": "frame\n",
}


@pytest.mark.parametrize("rule", sorted(NEWLINE_VALUES))
def test_a_trailing_newline_passes_no_rule(rule):
    from azmodels_magic import rules
    from azmodels_magic.errors import ValidationError

    good = NEWLINE_VALUES[rule].rstrip("\n")
    rules.check(getattr(rules, rule), good)  # the same value without the newline is fine
    with pytest.raises(ValidationError) as refused:
        rules.check(getattr(rules, rule), NEWLINE_VALUES[rule])
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    "argv",
    [
        ["deploy", "--name", "gpt-4o", "--deployment-name", "d1\n"],
        ["deploy", "--name", "gpt-4o", "--deployment-name", "d1", "--version", "1\n"],
        ["upload", "--source", "x", "--name", "m1\n"],
        ["upload", "--source", "x", "--name", "m1", "--version", "2\n"],
    ],
)
def test_the_grammar_refuses_a_trailing_newline(argv):
    from azmodels_magic import grammar
    from azmodels_magic.errors import UsageError

    with pytest.raises(UsageError):
        grammar.parse(argv)


def test_the_sandbox_refuses_a_trailing_newline(raw):
    body = {"sku": {"name": "GlobalStandard", "capacity": 1},
            "properties": {"model": {"format": "OpenAI", "name": "gpt-4o-mini",
                                     "version": "2024-07-18"}}}  # fmt: skip
    response = raw.call("PUT", f"{raw.account}/deployments/d1%0A", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "InvalidResourceName"
    for path in ("m1%0A/versions/1", "m1/versions/1%0A"):
        response = raw.call("POST", f"{raw.project}/models/{path}/createAsync", json={})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] in ("InvalidModelName", "InvalidModelVersion")
