"""Secret canaries: run the lifecycle through the magic with debug off and on, capture every
output (cell output, DataFrames as text and HTML, DEBUG logs of every logger, exception texts,
journals and files on disk, reprs of the objects a user can reach) and look for the SAS
signatures the service handed out and the sandbox's bearer tokens. None may appear anywhere.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from reliability_support import BLOCK, Raw, magic_app_on, make_weights, start_app

from azmodels_magic.clients import foundry as foundry_module
from azmodels_magic.errors import AzModelsError
from azmodels_magic.http.backoff import TransportSettings
from azmodels_magic.presentation.cards import card_for
from azmodels_magic.records import Displayable

# A signature that is not redacted: `sig=` and then a real value (not <redacted>).
LOOSE_SIG = re.compile(r"sig(=|%3D)(?!<redacted>|%3Credacted)[A-Za-z0-9%+/]{16,}", re.IGNORECASE)

NO_RETRIES = TransportSettings(max_retries=0)


class Capture(logging.Handler):
    """Every record of every logger, formatted, with its raw message and args."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.texts.append(self.format(record))
        except Exception as exc:  # a record that cannot format is still looked at
            self.texts.append(f"{record.msg!r} {record.args!r} {exc!r}")
        if record.exc_info:
            self.texts.append(logging.Formatter().formatException(record.exc_info))


@pytest.fixture
def debug_logs():
    handler = Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # libraries that set their own levels would hide their records from the root
    touched = {}
    for name in ("azure", "urllib3", "requests", "azmodels_magic"):
        logger = logging.getLogger(name)
        touched[name] = logger.level
        logger.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)
    for name, level in touched.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def fresh_process_loggers():
    """Library loggers as a fresh kernel has them: without the redaction filter an earlier
    test's upload may have added, so the first storage call of a session is checked too."""
    from azmodels_magic.redaction import RedactingFilter

    removed = {}
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and not name.startswith("azmodels_magic"):
            ours = [f for f in logger.filters if isinstance(f, RedactingFilter)]
            for f in ours:
                logger.removeFilter(f)
            if ours:
                removed[name] = ours
    yield
    for name, filters in removed.items():
        for f in filters:
            logging.getLogger(name).addFilter(f)


@pytest.fixture
def sas_seen(monkeypatch) -> list[str]:
    """Every SAS URI the service hands the client (recorded where the client reads them)."""
    seen: list[str] = []
    original = foundry_module.BlobReference.from_rest.__func__

    def spy(cls, body):
        ref = original(cls, body)
        seen.append(ref.sas_url)
        return ref

    monkeypatch.setattr(foundry_module.BlobReference, "from_rest", classmethod(spy))
    return seen


def canaries(secrets: list[str]) -> set[str]:
    """Each secret as it could be written: raw, percent-encoded, percent-decoded."""
    out = set()
    for value in secrets:
        if len(value) < 8:
            continue
        out |= {value, quote(value, safe=""), quote(value, safe="/+="), value.replace("%", "%25")}
    return out


def signatures(sas_urls: list[str]) -> list[str]:
    sigs = []
    for url in sas_urls:
        for sig in parse_qs(urlsplit(url).query).get("sig", []):
            sigs.append(sig)
    return sigs


def reprs(*objects: Any) -> list[str]:
    texts = []
    for obj in objects:
        texts.append(repr(obj))
        texts.append(str(obj))
        html = getattr(obj, "_repr_html_", None)
        if callable(html):
            texts.append(str(html()))
        if isinstance(obj, Displayable):  # shown as its card
            texts += [card_for(obj).text(), card_for(obj).html()]
        to_string = getattr(obj, "to_string", None)
        if callable(to_string) and hasattr(obj, "columns"):
            texts.append(to_string())
            texts.append(obj.to_json(date_format="iso"))
    return texts


def files_under(*folders: Path) -> list[str]:
    texts = []
    for folder in folders:
        for path in Path(folder).rglob("*"):
            if path.is_file() and path.stat().st_size < 5_000_000 and ".sqlite" not in path.name:
                texts.append(f"{path}: {path.read_bytes().decode('utf-8', 'replace')}")
    return texts


def run_cells(shell, capsys, lines: list[str], texts: list[str]) -> list[Any]:
    values = []
    for line in lines:
        result = shell.run_cell(line)
        out = capsys.readouterr()
        texts += [out.out, out.err]
        if result.error_in_exec is not None:
            texts += [repr(result.error_in_exec), str(result.error_in_exec)]
        if result.result is not None:
            values.append(result.result)
        texts += reprs(result.result)
    return values


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_no_secret_anywhere(
    shell, capsys, tmp_path, fresh_process_loggers, debug_logs, sas_seen, debug
) -> None:
    az = start_app()  # the sandbox; the magic's own app is pointed at it
    info = az.sandbox_info
    texts: list[str] = []
    borrowed = magic_app_on(shell, info, debug=debug)
    app = borrowed.__enter__()
    try:
        app.uploads.block_size, app.uploads.workers = BLOCK, 2
        weights = make_weights(tmp_path)
        raw = Raw(info)
        # storage calls before any upload in this process (what `delete` does in a new kernel)
        from azmodels_magic.clients.storage import delete_blobs

        probe = raw.upload_sas("canary-probe", "1")
        assert delete_blobs(probe) == 0
        lines = [
            "%azmodels sandbox status",
            "%azmodels connect",
            "%azmodels list --type base",
            f"%azmodels upload --base-model gpt-4o --source {weights} --name canary --tags team=a "
            "--no-progress",
            "%azmodels uploads list",
            "%azmodels uploads show --path canary/1",
            "%azmodels show canary",
            "%azmodels show canary --format json",
            "%azmodels list",
            "%azmodels deploy --name gpt-4o --deployment-name canary-base --capacity 1",
            "%azmodels deploy --name canary --deployment-name canary-custom",
            "%azmodels deployments list",
            "%azmodels deployments show --name canary-custom",
            "%azmodels deployments scale --name canary-base --capacity 2",
            # refusals and failures: their texts are outputs too
            f"%azmodels upload --base-model gpt-4o --source {weights} --name canary",
            "%azmodels deploy --name gpt-4o --deployment-name canary-base",
            "%azmodels deployments scale --name ghost --capacity 2",
            "%azmodels delete --name gpt-4o --force",
            "%azmodels show nothing-here",
        ]
        values = run_cells(shell, capsys, lines, texts)

        # the SAS values the service hands out, asked for by us as well as seen by the client
        ours = [probe, raw.upload_sas("canary-probe", "1"), raw.read_sas("canary", "1")]
        sas_urls = sas_seen + ours
        assert sas_seen, "the client was never handed a SAS: the canary would prove nothing"

        # a storage failure with a real signature in the request: its text must not carry it
        wrong = ours[2].replace("/upload-", "/missing-", 1)
        with pytest.raises(AzModelsError) as storage_error:
            delete_blobs(wrong)
        texts += [str(storage_error.value), repr(storage_error.value)]
        from azmodels_magic.clients.blob import BlobTransfer
        from azmodels_magic.records import WeightFile
        from azmodels_magic.sources.local import LocalSource

        stat = weights.stat()
        wf = WeightFile(weights, "w.safetensors", stat.st_size, stat.st_mtime_ns)
        with pytest.raises(AzModelsError) as transfer_error:
            BlobTransfer(block_size=BLOCK, settings=NO_RETRIES).upload(
                wrong, LocalSource(weights), [wf]
            )
        texts += [str(transfer_error.value), repr(transfer_error.value)]

        # a 403 with the reader token (no role) and its text
        from azmodels_magic.auth import StaticTokenCredential

        reader = start_reader(info)
        with pytest.raises(AzModelsError) as denied:
            reader.deployments.deploy(model="gpt-4o", deployment_name="denied", capacity=1)
        texts += [str(denied.value), repr(denied.value)]
        texts += reprs(reader, StaticTokenCredential(info.reader_token), reader.connection.tokens)

        # tear everything down through the magic too
        run_cells(
            shell,
            capsys,
            [
                "%azmodels deployments delete --name canary-base --force",
                "%azmodels deployments delete --name canary-custom --force",
                "%azmodels delete --name canary --force",
                "%azmodels uploads list",
            ],
            texts,
        )

        # reprs of everything a user can reach
        connection = app.connection
        texts += reprs(
            app, az, info, connection, connection.arm, connection.foundry,
            connection.arm.plane, connection.foundry.plane, app.models, app.uploads,
            app.deployments, app.connection.tokens, app.credential, *values,
        )  # fmt: skip
        texts += reprs(*app.uploads.journals())
        texts += [repr(vars(app.uploads)), repr(app.models.custom_models())]
        texts += [repr(app.deployments.all(refresh=True))]
        # journals and every other file azmodels wrote, and the sandbox's own log
        texts += files_under(Path(os.environ["AZMODELS_CACHE_DIR"]))
        texts += files_under(Path(info.data_dir) / "sandbox.log")
        texts += debug_logs.texts
    finally:
        borrowed.__exit__(None, None, None)
        az.close()

    everything = "\n".join(texts)
    if os.environ.get("CANARY_DUMP"):
        Path(os.environ["CANARY_DUMP"]).write_text(everything)
    assert len(debug_logs.texts) > 50, "DEBUG logs were not captured"
    secrets = canaries([*signatures(sas_urls), info.token, info.reader_token])
    leaks = sorted({s[:12] + "..." for s in secrets if s in everything})
    loose = sorted({m.group()[:24] for m in LOOSE_SIG.finditer(everything)})
    where = [t[:300] for t in texts if any(s in t for s in secrets) or LOOSE_SIG.search(t)]
    assert not leaks and not loose, f"secrets leaked: {leaks} {loose}\n" + "\n---\n".join(where[:5])


def start_reader(info):
    from azmodels_magic import AzModels
    from azmodels_magic.auth import StaticTokenCredential

    reader = AzModels(progress=False, retry_backoff=0.05)
    reader.use_sandbox(info, credential=StaticTokenCredential(info.reader_token))
    return reader
