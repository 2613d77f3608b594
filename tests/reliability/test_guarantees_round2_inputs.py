"""Issue 17, round two of the outside probe: inputs that broke a promise.

- Break 1: a bad file in the cache folder (a replacement note, an upload journal, the sandbox
  note) of any content fails no command: it is set aside, named, and the command goes on.
- Break 6: a file name storage cannot hold as it is (a backslash, a part ending in '.', too long
  or deep, the older uploads' manifest name) is refused before anything is sent, dry run too.
- Break 7: a name with a trailing newline passes no rule (client and sandbox).
- Break 8 and the Python API: a misspelt setting is an error everywhere; settings and arguments
  of the wrong type or range are one ValidationError, before any request.
- The magic: `-o` never hides a builtin; an echoed huge name is cut in the error line.
- Paging: a nextLink that never ends stops after a bounded count of pages, with one line.
"""

from __future__ import annotations

import pytest
from reliability_support import Raw


@pytest.fixture(scope="module")
def raw(app):
    return Raw(app.sandbox_info)


# -- break 1: one bad file in the cache folder breaks no command ---------------------------------


BAD_CONTENTS = {
    "a string": b'"x"',
    "a number": b"5",
    "null": b"null",
    "a list": b"[1, 2]",
    "a wrong field type": b'{"key": 5}',
    "missing fields": b'{"key": "k", "name": "m1"}',
    "not JSON": b"{",
    "not text": b"\xff\xfe\x00",
    "a nesting bomb": b"[" * 100_000 + b"]" * 100_000,
    "a file entry of the wrong shape": (
        b'{"key": "k|m1|1", "name": "m1", "version": "1", "source": "s", "container_url": "u",'
        b' "block_size": 4, "files": [{"relative": "a", "size": "big", "mtime_ns": 1}],'
        b' "old": {}, "new": {"blobUri": 5}}'
    ),
}


@pytest.fixture
def own_cache(monkeypatch, tmp_path):
    """A cache folder of this test's own (journals of other tests stay out of it)."""
    monkeypatch.setenv("AZMODELS_CACHE_DIR", str(tmp_path))
    folder = tmp_path / "uploads"
    folder.mkdir()
    return folder


def _set_aside(folder, name: str, content: bytes, caplog) -> None:
    """The bad file is gone from its place, kept (same bytes) as <name>.bad-<time>, and named in
    a warning."""
    assert not (folder / name).exists()
    kept = list(folder.glob(f"{name}.bad-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == content
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(name in line and kept[0].name in line for line in warned), warned


@pytest.mark.parametrize("case", sorted(BAD_CONTENTS))
def test_a_bad_replacement_note_fails_no_command(app, own_cache, caplog, case):
    content = BAD_CONTENTS[case]
    (own_cache / "abc.replace").write_bytes(content)
    outcome = app.execute("deployments list")  # any command first settles interrupted swaps
    assert outcome.message
    _set_aside(own_cache, "abc.replace", content, caplog)


@pytest.mark.parametrize("case", sorted(BAD_CONTENTS))
def test_a_bad_upload_journal_fails_no_command(app, own_cache, caplog, case):
    content = BAD_CONTENTS[case]
    (own_cache / "0123abcd.json").write_bytes(content)
    outcome = app.execute("uploads list")
    assert outcome.message is not None
    _set_aside(own_cache, "0123abcd.json", content, caplog)


def test_a_bad_journal_of_the_upload_itself_is_set_aside_and_the_upload_runs(
    app, own_cache, caplog, tmp_path
):
    from reliability_support import make_weights

    from azmodels_magic.uploadstate import journal_path

    weights = make_weights(tmp_path)
    path = journal_path(app.uploads.key("bad-journal", "1"))
    content = BAD_CONTENTS["a nesting bomb"]
    path.write_bytes(content)
    report = app.uploads.upload(
        source=str(weights), name="bad-journal", version="1", base_model="gpt-4o"
    )
    assert report.model.name == "bad-journal"
    kept = list(own_cache.glob(f"{path.name}.bad-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == content


@pytest.mark.parametrize("case", sorted(BAD_CONTENTS))
def test_a_bad_sandbox_note_is_set_aside(own_cache, caplog, case):
    from azmodels_magic.sandbox_launcher import remembered

    content = BAD_CONTENTS[case]
    note = own_cache.parent / "sandbox.json"
    note.write_bytes(content)
    assert remembered() is None
    _set_aside(own_cache.parent, "sandbox.json", content, caplog)


# -- break 6: names storage cannot hold are refused before anything is sent -----------------------


UNSTORABLE = {
    "a backslash": "a\\b.txt",
    "our manifest's name": "azmodels-manifest.json",
    "a trailing dot": "notes.",
    "a folder ending in a dot": "v1./config.json",
    "over 1,024 characters": "/".join(["d" * 200] * 5) + "/" + "f" * 100,
    "over 254 segments": "/".join(["d"] * 254) + "/f.txt",
}


@pytest.mark.parametrize("case", sorted(UNSTORABLE))
def test_a_name_storage_cannot_hold_is_refused_before_anything_is_sent(app, raw, tmp_path, case):
    from reliability_support import make_weights

    from azmodels_magic.errors import AzModelsError, ValidationError

    folder = tmp_path / "model"
    folder.mkdir()
    make_weights(folder)
    extra = folder / UNSTORABLE[case]
    extra.parent.mkdir(parents=True, exist_ok=True)
    extra.write_text("{}")
    before = raw.blob_count(), raw.registry()
    with pytest.raises(ValidationError) as refused:
        app.uploads.plan(source=str(folder), name="unstorable", version="1")
    assert "The file name" in _one_line(refused.value)
    for line in (f"upload --source {folder} --name unstorable --dry-run",
                 f"upload --source {folder} --name unstorable"):  # fmt: skip
        with pytest.raises(AzModelsError) as refused:
            app.run(line)
        assert "The file name" in _one_line(refused.value)
    assert (raw.blob_count(), raw.registry()) == before  # no slot, no block, no registration


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
        body = {"blobUri": "https://example.invalid/c", "weightType": "DraftModel"}
        response = raw.call("POST", f"{raw.project}/models/{path}/createAsync", json=body)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] in ("InvalidModelName", "InvalidModelVersion")


# -- break 8 and the Python API's risks: settings and arguments are checked, typed --------------


def _one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text and "Traceback" not in text and "bug" not in text.lower(), text
    return text


MISSPELT = {
    "connect": lambda: __import__("azmodels_magic").AzModels.connect(subscription="s-1"),
    "constructor": lambda: __import__("azmodels_magic").AzModels(resource_grup="rg"),
    "sandbox": lambda: __import__("azmodels_magic").AzModels.sandbox(page_sise=3),
    "set_connection": lambda: __import__("azmodels_magic").AzModels().set_connection(acount="a"),
}


@pytest.mark.parametrize("way", sorted(MISSPELT))
def test_a_misspelt_setting_is_an_error_everywhere(way):
    from azmodels_magic.errors import ValidationError

    with pytest.raises(ValidationError) as refused:
        MISSPELT[way]()
    text = _one_line(refused.value)
    assert "Unknown setting" in text and "Did you mean" in text, text


BAD_SETTINGS = [
    {"http_timeout": 0},
    {"http_timeout": -5},
    {"http_timeout": "soon"},
    {"operation_timeout": 0},
    {"max_retries": -1},
    {"max_retries": "many"},
    {"progress": "yes"},
    {"account": 5},
    {"project_endpoint": 5},
]


@pytest.mark.parametrize("settings", BAD_SETTINGS, ids=lambda s: "-".join(map(str, s.items())))
def test_a_setting_of_the_wrong_type_or_range_is_a_validation_error(settings):
    from azmodels_magic import AzModels
    from azmodels_magic.errors import ValidationError

    with pytest.raises(ValidationError) as refused:
        AzModels(**settings)
    assert next(iter(settings)) in _one_line(refused.value)
    az = AzModels(account="mine", progress=False)
    before = az.settings()
    with pytest.raises(ValidationError):
        az.set_connection(resource_group="other", **settings)
    assert az.settings() == before  # all or nothing: the good setting was not applied either
    az.close()


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An AzModels whose endpoints go nowhere, and every socket connect this process makes."""
    import socket

    from azmodels_magic import AzModels
    from azmodels_magic.auth import StaticTokenCredential
    from azmodels_magic.sample_weights import write_safetensors

    seen: list = []
    real_connect = socket.socket.connect

    def recording_connect(self, address):
        seen.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    az = AzModels(
        progress=False, max_retries=0, credential=StaticTokenCredential("t"),
        project_endpoint="http://127.0.0.1:9/api/projects/p", arm_endpoint="http://127.0.0.1:9",
        subscription_id="s", resource_group="rg", account="a",
    )  # fmt: skip
    weights = write_safetensors(tmp_path / "w.safetensors", {"w": ("F16", (2, 2))})
    yield az, seen, weights
    az.close()


MISTYPED_CALLS = {
    "upload version a float": lambda az, w: az.uploads.upload(source=w, name="m1", version=1.0),
    "plan version a float": lambda az, w: az.uploads.plan(source=w, name="m1", version=2.5),
    "update version a float": lambda az, w: az.models.update("m1", 1.0, description="x"),
    "upload source a number": lambda az, w: az.uploads.upload(source=5, name="m1"),
    "upload misspelt keyword": lambda az, w: az.uploads.upload(sorce=w, name="m1"),
    "upload missing name": lambda az, w: az.uploads.upload(source=w),
    "scale name a number": lambda az, w: az.deployments.scale(5, capacity=1),
    "delete deployment a number": lambda az, w: az.deployments.delete(5),
    "run a number": lambda az, w: az.run(5),
    "list_models misspelt": lambda az, w: az.list_models(typ="base"),
}


@pytest.mark.parametrize("case", sorted(MISTYPED_CALLS))
def test_a_mistyped_argument_is_a_validation_error_before_any_request(offline, case):
    from azmodels_magic.errors import ValidationError

    az, seen, weights = offline
    with pytest.raises(ValidationError) as refused:
        MISTYPED_CALLS[case](az, weights)
    _one_line(refused.value)
    assert seen == [], f"{case}: a request was attempted before the argument was checked"


# -- the magic's risks: -o never hides a builtin; an echoed huge name is cut ----------------------


@pytest.mark.parametrize(
    "name", ["print", "__builtins__", "list", "In", "Out", "_", "_3", "_i2", "get_ipython", "class"]
)
def test_o_refuses_a_name_that_would_hide_a_builtin(shell, capsys, name):
    from azmodels_magic import grammar
    from azmodels_magic.errors import UsageError

    with pytest.raises(UsageError) as refused:
        grammar.parse(["list", "-o", name])
    assert name in _one_line(refused.value)
    before = shell.user_ns.get(name, "absent")
    capsys.readouterr()
    shell.run_cell(f"%azmodels list -o {name}")
    assert shell.user_ns.get(name, "absent") is before
    out = capsys.readouterr()
    assert "would hide" in out.out + out.err
    grammar.parse(["list", "-o", "frame"])  # an ordinary name is fine


LONG = 200_000


@pytest.mark.parametrize(
    "line",
    [
        "show " + "a" * LONG,
        "deployments show --name " + "b" * LONG,
        "deploy --name gpt-4o --deployment-name " + "c" * LONG,
        "uploads show --path " + "e" * LONG,
        "list -o 1" + "f" * LONG,  # not a variable name: echoed in the refusal
    ],
    ids=["show", "deployments show", "deploy", "uploads show", "-o"],
)
def test_an_echoed_huge_name_is_cut_in_the_error_line(app, line):
    from azmodels_magic.errors import AzModelsError
    from azmodels_magic.steps import NOTEBOOK

    try:
        app.execute(line, front_end=NOTEBOOK)  # the notebook: where `-o VAR` is a variable
    except AzModelsError as error:
        text = _one_line(error)
    else:
        pytest.fail(f"{line[:30]}... was accepted")
    assert len(text) < 1000 and "200,0" in text, text[:300]


# -- paging that never ends ----------------------------------------------------------------------


@pytest.fixture
def endless_pages():
    """A loopback 'ARM' whose every page of deployments links to a new next one."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            page = len(hits)
            # Bounded here so the test ends even when the client pages on without a limit.
            link = None if page > 5000 else f"{self.path.split('?')[0]}?page={page}&api-version=x"
            body = json.dumps({"value": [], "nextLink": link}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def test_a_next_link_that_never_ends_stops_with_one_line(endless_pages):
    from azmodels_magic import AzModels
    from azmodels_magic.auth import StaticTokenCredential
    from azmodels_magic.errors import AzModelsError

    base, hits = endless_pages
    settings = {"subscription_id": "s", "resource_group": "rg", "account": "a"}
    az = AzModels(progress=False, max_retries=0, credential=StaticTokenCredential("t"),
                  arm_endpoint=base, **settings)  # fmt: skip
    try:
        with pytest.raises(AzModelsError) as stopped:
            az.execute("deployments list")
    finally:
        az.close()
    assert "pages" in _one_line(stopped.value)
    assert len(hits) <= 1001  # a bounded count of pages (1,000), not the server's 5,000
