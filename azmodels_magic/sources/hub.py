"""A source on a model hub: `hf://ORG/REPO[@REVISION][/SUBFOLDER]`, listed and resolved with
huggingface_hub (imported lazily; the well-kept client of the hub's API).

- The revision (a branch, a tag, default `main`) is pinned to its commit once, so every file
  comes from one commit however long the copy takes.
- Files come with their size and, for LFS files, the SHA-256 the hub declares.
- The hub's token (HF_TOKEN, or the user's `hf auth login`) goes only to the hub, to list and to
  resolve each file's download URL; a large file's URL redirects to a pre-signed one, which is
  what storage is given to copy from. A file the hub serves itself needs the token when one is
  in use, so it has no copy URL (its bytes come through this machine). The token never goes to
  Azure, nor into a message.
- HF_ENDPOINT selects another hub (the sandbox's stand-in), as huggingface_hub itself honours.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import quote

from ..errors import UploadError, ValidationError
from ..http.backoff import TransportSettings
from ..http.origin import origin_of
from . import SourceFile
from .url import Resolved, new_session, range_reader, resolve, shown_url

DEFAULT_ENDPOINT = "https://huggingface.co"
DEFAULT_REVISION = "main"
# A resolved download URL is pre-signed for about an hour: resolved again after this long.
RESOLVED_FOR = 20 * 60.0
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
_SPEC = re.compile(
    rf"^hf://(?P<repo>{_NAME}/{_NAME})(?:@(?P<revision>[A-Za-z0-9._-]{{1,200}}))?"
    r"(?:/(?P<subfolder>[^?#\\]*))?\Z"
)
SPEC_FORM = "hf://ORG/REPO[@REVISION][/SUBFOLDER]"


@dataclass(frozen=True)
class HubSpec:
    repo: str  # ORG/REPO
    revision: str
    subfolder: str  # "" for the whole repository

    def __str__(self) -> str:
        folder = f"/{self.subfolder}" if self.subfolder else ""
        return f"hf://{self.repo}@{self.revision}{folder}"


def parse_hub(text: str) -> HubSpec:
    """`hf://ORG/REPO[@REVISION][/SUBFOLDER]`, or a one-line ValidationError."""
    match = _SPEC.match(text)
    shown = shown_url(text)[:200]
    if match is None or ".." in match["repo"] or "--" in match["repo"]:
        raise ValidationError(
            f"Refusing source '{shown}': a model hub source is written {SPEC_FORM} (names "
            "of letters, digits, '.', '-' and '_')."
        )
    subfolder = (match["subfolder"] or "").strip("/")
    parts = subfolder.split("/") if subfolder else []
    if any(p in ("", ".", "..") for p in parts) or any(ord(c) < 0x20 for c in subfolder):
        raise ValidationError(
            f"Refusing source '{shown}': its subfolder must be a plain path inside the "
            "repository (no empty, '.' or '..' parts)."
        )
    return HubSpec(match["repo"], match["revision"] or DEFAULT_REVISION, subfolder)


def hub_endpoint() -> str:
    """The hub's address: HF_ENDPOINT, else the public hub; checked as every URL a token goes
    to is (https, or http to loopback)."""
    endpoint = (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    origin_of(endpoint, what="HF_ENDPOINT")
    return endpoint


@dataclass(frozen=True)
class _Download:
    url: str  # pre-signed after a redirect, else the hub's own resolve URL
    resolved: Resolved | None  # the pre-signed URL's answer (size, ETag); None: the hub's own
    at: float


class HubSource:
    """The files of a hub repository (or of a folder in it) at one commit."""

    kind = "hub"
    folder = True  # a repository, or a folder of one

    def __init__(self, spec: str, *, settings: TransportSettings | None = None) -> None:
        self.spec = parse_hub(spec)
        self.endpoint = hub_endpoint()
        self._settings = settings or TransportSettings()
        self.display = str(self.spec)  # before the commit is known: as the user wrote it
        self.commit: str | None = None
        self._files: dict[str, tuple[str, SourceFile]] | None = None  # relative -> (path, file)
        self._downloads: dict[str, _Download] = {}

    def __repr__(self) -> str:
        return f"HubSource({self.display!r})"

    # ------------------------------------------------------------------ hub calls

    def _api(self) -> Any:
        from huggingface_hub import HfApi

        return HfApi(endpoint=self.endpoint)

    @staticmethod
    def _token() -> str | None:
        from huggingface_hub import get_token

        return get_token()

    def _hub_error(self, error: BaseException, what: str = "") -> UploadError:
        from huggingface_hub import errors

        repo = f"hf://{self.spec.repo}"
        signed_in = self._token() is not None
        if isinstance(error, errors.GatedRepoError):
            return UploadError(
                f"The hub repository {repo} is gated"
                + (
                    ": your token has no access; accept its terms on the hub."
                    if signed_in
                    else ": accept its terms on the hub, then sign in (`hf auth login`) or set "
                    "HF_TOKEN."
                )
            )
        if isinstance(error, errors.RepositoryNotFoundError):
            return UploadError(
                f"The hub has no repository {repo}"
                + ("" if signed_in else " (or it is private: sign in or set HF_TOKEN)")
                + "."
            )
        if isinstance(error, errors.RevisionNotFoundError):
            return UploadError(f"The hub repository {repo} has no revision {self.spec.revision}.")
        if isinstance(error, errors.EntryNotFoundError):
            return UploadError(f"The hub repository {repo} has no {what or 'such file'}.")
        if isinstance(error, errors.HfHubHTTPError):
            status = getattr(getattr(error, "response", None), "status_code", None)
            if status == 404:
                return UploadError(f"The hub has nothing at {repo}{what and ' ' + what} (404).")
            return UploadError(f"The hub answered {status} for {repo}{what and ' ' + what}.")
        return UploadError(
            f"Could not reach the hub at {self.endpoint} for {repo}: {type(error).__name__}. "
            "Check the network (or HF_ENDPOINT), then run the command again."
        )

    def _listing(self) -> dict[str, tuple[str, SourceFile]]:
        if self._files is not None:
            return self._files
        from huggingface_hub import errors

        api = self._api()
        folder = self.spec.subfolder
        try:
            info = api.model_info(self.spec.repo, revision=self.spec.revision)
            commit = info.sha
            if not commit:
                raise UploadError(f"The hub did not say which commit {self.display} is.")
            entries = list(
                api.list_repo_tree(self.spec.repo, folder or None, recursive=True, revision=commit)
            )
        except UploadError:
            raise
        except (errors.HfHubHTTPError, errors.EntryNotFoundError, OSError) as error:
            raise self._hub_error(error, f"folder {folder}" if folder else "") from None
        except Exception as error:  # httpx2's transport errors, among others
            raise self._hub_error(error) from None
        self.commit = commit
        self.display = str(HubSpec(self.spec.repo, commit[:12], folder))
        prefix = f"{folder}/" if folder else ""
        found: dict[str, tuple[str, SourceFile]] = {}
        for entry in entries:
            if not hasattr(entry, "size") or not entry.path.startswith(prefix):
                continue  # a folder
            lfs = getattr(entry, "lfs", None)
            relative = entry.path[len(prefix) :]
            # .gitattributes and the like are the repository's, not the model's: hidden files
            # are left out, as from a local folder.
            if any(part.startswith(".") for part in relative.split("/")):
                continue
            found[relative] = (
                entry.path,
                SourceFile(
                    relative=relative,
                    size=int(lfs.size if lfs else entry.size),
                    declared_sha256=(lfs.sha256.lower() if lfs else None),
                    # The commit pins the content; the URL storage reads from is pre-signed per
                    # resolution, and its ETag is not the hub's, so no condition is named here.
                    version=None,
                ),
            )
        if not found:
            where = f"folder {folder} of " if folder else ""
            raise UploadError(f"The {where}hub repository hf://{self.spec.repo} holds no file.")
        self._files = dict(sorted(found.items()))
        return self._files

    def _download(self, file: SourceFile) -> _Download:
        """Where `file` downloads from: resolved by the hub (with the token), then its answer
        (size, ETag) read from the pre-signed URL itself, without the token."""
        known = self._downloads.get(file.relative)
        if known is not None and time.monotonic() - known.at < RESOLVED_FOR:
            return known
        from huggingface_hub import get_hf_file_metadata

        path = self._listing()[file.relative][0]
        assert self.commit is not None
        hub_url = (
            f"{self.endpoint}/{self.spec.repo}/resolve/{quote(self.commit, safe='')}/{quote(path)}"
        )
        try:
            meta = get_hf_file_metadata(hub_url, endpoint=self.endpoint, retry_on_errors=True)
        except Exception as error:
            raise self._hub_error(error, path) from None
        location = meta.location or hub_url
        if origin_of(location, what="hub download URL") == origin_of(self.endpoint):
            download = _Download(hub_url, None, time.monotonic())
        else:
            with new_session(location) as session:
                resolved = resolve(session, location, self._settings)
            if resolved.size != file.size:
                raise UploadError(
                    f"The hub lists {path} of {self.display} at {file.size:,} bytes but its "
                    f"download has {resolved.size:,}."
                )
            download = _Download(resolved.url, resolved, time.monotonic())
        self._downloads[file.relative] = download
        return download

    # ------------------------------------------------------------------ Source

    def files(self) -> tuple[SourceFile, ...]:
        return tuple(file for _, file in self._listing().values())

    def open(self, file: SourceFile) -> BinaryIO:
        download = self._download(file)
        if download.resolved is None:  # the hub serves it: the token (if any) goes there only
            token = self._token()
            headers = {"Authorization": f"Bearer {token}"} if token else None
            return range_reader(
                download.url, file.size, None, shown=self.display, settings=self._settings,
                headers=headers,
            )  # fmt: skip
        return range_reader(
            download.url,
            file.size,
            download.resolved.etag,
            shown=self.display,
            settings=self._settings,
        )

    def check_unchanged(self, file: SourceFile, reader: BinaryIO) -> None:
        """Nothing to check: the files are those of one commit, which never changes."""

    def copy_url(self, file: SourceFile) -> str | None:
        download = self._download(file)
        if download.resolved is None:
            # A small git file the hub serves itself (configs, tokenizers: never LFS weights):
            # reading it may take the token, which goes to the hub only, so its few bytes come
            # through this machine.
            return None
        return download.url

    def copy_etag(self, file: SourceFile) -> str | None:
        """The ETag storage's reads of `copy_url` are conditional on (the pre-signed URL's)."""
        download = self._download(file)
        return download.resolved.etag if download.resolved else None
