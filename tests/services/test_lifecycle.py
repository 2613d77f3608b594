"""Lifecycle truth and account kinds: a model past its retirement date is shown retired (status,
badge, card, list, a note on deploy) whatever the catalog's lifecycle says; a model is deployed
only through an account of a kind the catalog offers it to."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from azmodels_support import start_app

from azmodels_magic.errors import ValidationError
from azmodels_magic.presentation.cards import card_for
from azmodels_magic.sandbox.catalog import CATALOG_AS_OF, as_of_today


@pytest.fixture(scope="module")
def kinds():
    az = start_app(sandbox={"extra_args": ["--accounts", "oai=eastus:openai"]})
    yield az
    az.close()


def test_a_version_past_its_retirement_is_retired_whatever_the_catalog_says(app):
    versions = app.models.base_versions("gpt-4o")
    retired = [m for m in versions if m.retired]
    assert retired, "the sandbox's gpt-4o versions retired in 2026 (as the real catalog says)"
    model = retired[0]
    assert model.lifecycle_status == "GenerallyAvailable" and model.status == "Retired"
    frame = app.list_models(type="base")
    row = frame[(frame["name"] == "gpt-4o") & (frame["version"] == model.version)].iloc[0]
    assert row["status"] == "Retired"
    details = app.show("gpt-4o", type="base", version=model.version)
    text = card_for(details).text(columns=1000)  # lines unwrapped
    assert "[Retired]" in text and "Retired " in text and "past its retirement date" in text
    live = [m for m in versions if not m.retired]
    if live:  # the deploy offered is a version still served
        assert ("--version", model.version) not in details.deploy_step.options
    else:
        assert details.deploy_step is None


def test_deploying_a_retired_version_says_so(app):
    model = next(m for m in app.models.base_versions("gpt-4o") if m.retired)
    details = app.deployments.deploy(
        model="gpt-4o", deployment_name="old-4o", version=model.version, capacity=1
    )
    assert any("retired on" in note for note in details.notes), details.notes


def test_a_version_retiring_later_is_not_retired(app):
    later = str(date.today() + timedelta(days=2))
    live = [m for m in app.models.catalog() if m.inference_deprecation[:10] > later]
    assert live and not any(m.retired or m.status == "Retired" for m in live)


def test_the_sandbox_catalog_does_not_age():
    """Its dates move with the calendar: what retires 40 days after CATALOG_AS_OF does so 40
    days after any day the sandbox runs; 'never' (2099) stays never."""
    entry = {
        "model": {
            "deprecation": {"inference": "2027-01-13T00:00:00Z"},
            "skus": [{"name": "S", "deprecationDate": "2099-12-31T00:00:00Z"}],
        }
    }
    later = as_of_today(entry, today=CATALOG_AS_OF + timedelta(days=30))
    assert later["model"]["deprecation"]["inference"] == "2027-02-12T00:00:00Z"
    assert later["model"]["skus"][0]["deprecationDate"] == "2099-12-31T00:00:00Z"
    assert as_of_today(entry, today=CATALOG_AS_OF) == entry
    assert isinstance(CATALOG_AS_OF, date)


def test_a_model_not_offered_to_the_accounts_kind_is_refused_before_sending(kinds):
    """Real catalogs list serverless models (Mistral) for AIServices and MaaS accounts only."""
    kinds.run("connect --account oai")
    model = next(m for m in kinds.models.catalog() if m.format == "Mistral AI")
    assert "OpenAI" not in model.kinds
    with pytest.raises(ValidationError) as refused:
        kinds.run(f"deploy --name {model.name} --type base --deployment-name mis")
    text = str(refused.value)
    assert "of kind OpenAI" in text and "\n" not in text
    assert not [d for d in kinds.deployments.list() if d.name == "mis"]
