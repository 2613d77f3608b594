"""A stand-in for the few routes of the Hugging Face hub that huggingface_hub calls to list and
download a model repository, so imports from a hub run offline. Clients select it as they select
any hub: `HF_ENDPOINT=<the sandbox's URL>` (huggingface_hub's constants.ENDPOINT).

The routes and shapes are those huggingface_hub 2.4 reads (hf_api.py, file_download.py,
utils/_http.py):

- `GET /api/models/{repo_id}[/revision/{revision}]` (HfApi.model_info): `ModelInfo(**json)`,
  `sha` the commit, `siblings` `[{rfilename}]`, with `?blobs=true` also `size`, `blobId` and
  `lfs {sha256, size, pointerSize}`.
- `GET /api/models/{repo_id}/tree/{revision}[/{path}]?recursive=&expand=` (list_repo_tree):
  `[{type: "file", path, size, oid, lfs?: {oid: sha256, size, pointerSize}, lastCommit?}]` and
  `{type: "directory", path, oid, size: 0}`, as RepoFile/RepoFolder(**entry) read them.
- `POST /api/models/{repo_id}/paths-info/{revision}` (get_paths_info), a form body
  `paths=...&paths=...&expand=...`: the entries of the paths that exist, same shape.
- `HEAD|GET /{repo_id}/resolve/{revision}/{path}` (hf_hub_download, get_hf_file_metadata):
  `X-Repo-Commit` always; an LFS file answers 302 to a pre-signed (SAS) URL of its blob in
  Azurite's "hub" container with `X-Linked-Etag: "<sha256>"` and `X-Linked-Size` (the client
  reads the file's metadata off the redirect itself: _httpx2_follow_hub_redirects_with_backoff
  stops at another origin); a regular git file answers 200 with its bytes and `ETag: "<git
  oid>"`, as the hub does.
- Errors as hf_raise_for_status reads them: `X-Error-Code` (RepoNotFound, RevisionNotFound,
  EntryNotFound, GatedRepo) and `X-Error-Message` headers, a `{"error": message}` body.

Access: the hub's metadata of a gated repository is public; its files need a token, the
sandbox's `hub_token` (401 GatedRepo without one). A bearer token that is not the sandbox's is
refused on every route, as the hub refuses invalid credentials.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import random
import re
import struct
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, parse_qsl, quote, unquote, urlsplit

from .azurite import DEV_ACCOUNT
from .routing import Request, Response, Router, empty_response, iso, json_response

if TYPE_CHECKING:
    from .app import App

HUB_CONTAINER = "hub"  # Azurite's container the hub's LFS files are stored in
PUBLIC_REPO = "sandbox-org/tiny-chat"
GATED_REPO = "sandbox-org/gated-chat"
REPO = r"(?P<repo>[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)"
# The revision is one path segment (huggingface_hub quotes it with safe=""); the path in the
# repository may have more.
REVISION = r"(?P<revision>[^/]+)"
COMMIT_DATE = 1767225600.0  # 2026-01-01: the one commit each repository has
LFS_POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n"


def register(router: Router) -> None:
    add = router.add
    add("GET", rf"/api/models/{REPO}", model_info, "hub", "read")
    add("GET", rf"/api/models/{REPO}/revision/{REVISION}", model_info, "hub", "read")
    add("GET", rf"/api/models/{REPO}/tree/{REVISION}", tree, "hub", "read")
    add("GET", rf"/api/models/{REPO}/tree/{REVISION}/(?P<path>.+)", tree, "hub", "read")
    add("POST", rf"/api/models/{REPO}/paths-info/{REVISION}", paths_info, "hub", "read")
    resolve = rf"/{REPO}/resolve/{REVISION}/(?P<path>.+)"
    add("HEAD", resolve, resolve_file, "hub", "read")
    add("GET", resolve, resolve_file, "hub", "read")


# -- the repositories ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HubFile:
    path: str
    data: bytes = b""
    lfs: bool = False  # stored with Git LFS: served by a redirect to its blob

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def pointer(self) -> bytes:
        """The LFS pointer git stores in place of the file."""
        return LFS_POINTER.format(sha256=self.sha256, size=len(self.data)).encode()

    @property
    def oid(self) -> str:
        """The git blob id (of the pointer, for an LFS file), as the hub's `oid` says."""
        stored = self.pointer if self.lfs else self.data
        return hashlib.sha1(b"blob %d\0" % len(stored) + stored).hexdigest()

    def blob_name(self, repo_id: str) -> str:
        """Where its bytes are in the hub container: by repository and content digest."""
        return f"{repo_id}/{self.sha256}"


@dataclass(frozen=True)
class HubRepo:
    repo_id: str
    files: tuple[HubFile, ...]
    gated: bool = False

    @property
    def commit(self) -> str:
        """The repository's one commit: a digest of what it holds."""
        listing = "".join(f"{f.path}\0{f.oid}\n" for f in self.files)
        return hashlib.sha1(f"{self.repo_id}\n{listing}".encode()).hexdigest()

    def file(self, path: str) -> HubFile | None:
        return next((f for f in self.files if f.path == path), None)

    def folders(self) -> list[str]:
        found = set()
        for f in self.files:
            parts = f.path.split("/")[:-1]
            found.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        return sorted(found)


def safetensors_bytes(tensors: dict[str, tuple[int, int]], seed: int) -> bytes:
    """A valid safetensors file of F16 tensors {name: (rows, cols)} filled with seeded bytes:
    an 8-byte little-endian header length, the JSON header (padded to 8 bytes), the data."""
    rng = random.Random(seed)
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    data = bytearray()
    for name, (rows, cols) in tensors.items():
        size = rows * cols * 2
        header[name] = {"dtype": "F16", "shape": [rows, cols],
                        "data_offsets": [len(data), len(data) + size]}  # fmt: skip
        data += rng.randbytes(size)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + bytes(data)


@cache
def repositories() -> dict[str, HubRepo]:
    """The hub's repositories (built once, the same bytes in every sandbox)."""
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": 64,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "vocab_size": 256,
        "torch_dtype": "float16",
    }
    vocab = {chr(97 + i): i for i in range(26)}
    tokenizer = {"version": "1.0", "model": {"type": "BPE", "vocab": vocab, "merges": []}}
    tensors = {
        "model.embed_tokens.weight": (256, 64),
        "model.layers.0.mlp.up_proj.weight": (64, 512),
    }
    weights = safetensors_bytes(tensors, seed=19)
    files = (
        HubFile(".gitattributes", b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"),
        HubFile("config.json", json.dumps(config, indent=2).encode() + b"\n"),
        HubFile("tokenizer.json", json.dumps(tokenizer).encode() + b"\n"),
        HubFile("model.safetensors", weights, lfs=True),
    )
    return {
        PUBLIC_REPO: HubRepo(PUBLIC_REPO, files),
        GATED_REPO: HubRepo(GATED_REPO, files, gated=True),
    }


_seeded: set[str] = set()  # the Azurite endpoints seeded by this process
_seed_lock = threading.Lock()
STORAGE_VERSION = "2021-08-06"


def seed(app: App) -> None:
    """Put every repository's files in the hub container, once per Azurite and process (files
    already there are kept: their bytes are the same). `serve` calls it before the sandbox says
    it is ready, so the container is there before any client looks at storage; plain
    http.client with Shared Key, as the storage SDK takes most of a second to import."""
    if app.azurite_endpoint in _seeded:
        return
    with _seed_lock:
        if app.azurite_endpoint in _seeded:
            return
        endpoint = urlsplit(app.azurite_endpoint)
        conn = http.client.HTTPConnection(endpoint.hostname, endpoint.port, timeout=30)
        try:
            container = f"{endpoint.path}/{HUB_CONTAINER}"
            _storage_put(app, conn, container, b"", {}, "restype=container")
            for repo in repositories().values():
                for f in repo.files:
                    blob = f"{container}/{quote(f.blob_name(repo.repo_id))}"
                    headers = {"x-ms-blob-type": "BlockBlob", "If-None-Match": "*"}
                    _storage_put(app, conn, blob, f.data, headers)
        finally:
            conn.close()
        _seeded.add(app.azurite_endpoint)


def _storage_put(
    app: App,
    conn: http.client.HTTPConnection,
    path: str,
    body: bytes,
    headers: dict[str, str],
    query: str = "",
) -> None:
    """One PUT to Azurite signed with its account key (Shared Key); what exists is kept."""
    headers = {
        **headers,
        "x-ms-date": formatdate(usegmt=True),
        "x-ms-version": STORAGE_VERSION,
        "Content-Length": str(len(body)),
    }
    ms = "".join(f"{k.lower()}:{v}\n" for k, v in sorted(headers.items()) if k.startswith("x-ms-"))
    resource = f"/{DEV_ACCOUNT}{unquote(path)}"
    for name, value in sorted(parse_qsl(query)):
        resource += f"\n{name.lower()}:{value}"
    # PUT, Content-Encoding, -Language, -Length (empty when 0), -MD5, -Type, Date,
    # If-Modified-Since, If-Match, If-None-Match, If-Unmodified-Since, Range.
    fields = ["PUT", "", "", str(len(body)) if body else "", "", "", "", "", "",
              headers.get("If-None-Match", ""), "", ""]  # fmt: skip
    to_sign = "\n".join(fields) + "\n" + ms + resource
    key = base64.b64decode(app.storage_key)
    signature = base64.b64encode(hmac.new(key, to_sign.encode(), hashlib.sha256).digest())
    headers["Authorization"] = f"SharedKey {DEV_ACCOUNT}:{signature.decode()}"
    conn.request("PUT", f"{path}?{query}" if query else path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    if response.status not in (201, 409, 412):  # created, or there already
        raise RuntimeError(f"Azurite answered {response.status} to PUT {unquote(path)}")


# -- errors and access ---------------------------------------------------------------------------


class HubError(Exception):
    def __init__(self, status: int, code: str, message: str, commit: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.commit = status, code, message, commit

    def response(self) -> Response:
        headers = {"X-Error-Code": self.code, "X-Error-Message": self.message}
        if self.commit:
            headers["X-Repo-Commit"] = self.commit
        return json_response(self.status, {"error": self.message}, headers)


def hub_route(handler):
    """Answer a HubError the way the hub does (not Azure's error shape)."""

    def answer(app: App, req: Request) -> Response:
        try:
            return handler(app, req)
        except HubError as exc:
            return exc.response()

    answer.__name__ = handler.__name__
    return answer


def token_of(app: App, req: Request) -> str | None:
    """The sandbox's hub token if the request carries it, None if it carries none."""
    header = req.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), app.hub_token):
        raise HubError(401, "Unauthorized", "Invalid credentials in Authorization header")
    return token


def find_repo(app: App, req: Request) -> tuple[HubRepo, str]:
    """The repository and the commit a revision names (`main` or the commit itself)."""
    signed_in = token_of(app, req) is not None
    repo = repositories().get(req.params["repo"])
    if repo is None:
        # Unauthenticated, the hub answers 401 for a repository it does not show (it may be
        # private); huggingface_hub reads both as RepositoryNotFoundError.
        raise HubError(404 if signed_in else 401, "RepoNotFound", "Repository not found")
    revision = req.params.get("revision") or "main"
    if revision not in ("main", repo.commit):
        raise HubError(404, "RevisionNotFound", f"Invalid rev id: {revision}")
    return repo, repo.commit


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true")


# -- metadata ------------------------------------------------------------------------------------


def file_entry(f: HubFile, commit: str, expand: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "file", "oid": f.oid, "size": len(f.data), "path": f.path}
    if f.lfs:
        entry["lfs"] = {"oid": f.sha256, "size": len(f.data), "pointerSize": len(f.pointer)}
    if expand:
        entry["lastCommit"] = commit_info(commit)
    return entry


def folder_entry(repo: HubRepo, path: str, commit: str, expand: bool) -> dict[str, Any]:
    oid = hashlib.sha1(f"tree {repo.repo_id}/{path}".encode()).hexdigest()
    entry: dict[str, Any] = {"type": "directory", "oid": oid, "size": 0, "path": path}
    if expand:
        entry["lastCommit"] = commit_info(commit)
    return entry


def commit_info(commit: str) -> dict[str, str]:
    return {"id": commit, "title": "Upload the model", "date": iso(COMMIT_DATE)}


@hub_route
def model_info(app: App, req: Request) -> Response:
    repo, commit = find_repo(app, req)
    seed(app)
    blobs = _flag(req.query.get("blobs"))
    siblings = []
    for f in repo.files:
        sibling: dict[str, Any] = {"rfilename": f.path}
        if blobs:
            sibling.update({"blobId": f.oid, "size": len(f.data)})
            if f.lfs:
                sibling["lfs"] = {"sha256": f.sha256, "size": len(f.data),
                                  "pointerSize": len(f.pointer)}  # fmt: skip
        siblings.append(sibling)
    org = repo.repo_id.split("/")[0]
    body = {
        "_id": hashlib.sha1(repo.repo_id.encode()).hexdigest()[:24],
        "id": repo.repo_id,
        "modelId": repo.repo_id,
        "author": org,
        "sha": commit,
        "lastModified": iso(COMMIT_DATE),
        "createdAt": iso(COMMIT_DATE),
        "private": False,
        "gated": "manual" if repo.gated else False,
        "disabled": False,
        "downloads": 0,
        "likes": 0,
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "tags": ["transformers", "safetensors", "llama", "text-generation"],
        "siblings": siblings,
    }
    if blobs:
        body["usedStorage"] = sum(len(f.data) for f in repo.files)
    return json_response(200, body)


@hub_route
def tree(app: App, req: Request) -> Response:
    repo, commit = find_repo(app, req)
    seed(app)
    base = (req.params.get("path") or "").strip("/")
    recursive, expand = _flag(req.query.get("recursive")), _flag(req.query.get("expand"))
    if base and base not in repo.folders():
        if repo.file(base) is None:
            raise HubError(404, "EntryNotFound", f'{base} does not exist on "{commit}"', commit)
        raise HubError(400, "BadRequest", f"{base} is a file, not a directory")
    prefix = f"{base}/" if base else ""

    def listed(path: str) -> bool:
        rest = path[len(prefix) :]
        return path.startswith(prefix) and bool(rest) and (recursive or "/" not in rest)

    entries = [folder_entry(repo, p, commit, expand) for p in repo.folders() if listed(p)]
    entries += [file_entry(f, commit, expand) for f in repo.files if listed(f.path)]
    return json_response(200, entries)


@hub_route
def paths_info(app: App, req: Request) -> Response:
    repo, commit = find_repo(app, req)
    seed(app)
    form = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
    expand = _flag((form.get("expand") or [""])[0])
    entries = []
    for path in form.get("paths", []):
        path = path.strip("/")
        f = repo.file(path)
        if f is not None:
            entries.append(file_entry(f, commit, expand))
        elif path in repo.folders():
            entries.append(folder_entry(repo, path, commit, expand))
    return json_response(200, entries)


# -- files ---------------------------------------------------------------------------------------


@hub_route
def resolve_file(app: App, req: Request) -> Response:
    repo, commit = find_repo(app, req)
    path = req.params["path"]
    f = repo.file(path)
    if f is None:
        raise HubError(404, "EntryNotFound", "Entry not found", commit)
    if repo.gated and token_of(app, req) is None:
        raise HubError(
            401,
            "GatedRepo",
            f"Access to model {repo.repo_id} is restricted. You must have access to it and be "
            "authenticated to access it. Please log in.",
            commit,
        )
    headers = {"X-Repo-Commit": commit, "Accept-Ranges": "bytes"}
    if not f.lfs:
        headers["ETag"] = f'"{f.oid}"'
        return file_response(f.data, req.headers.get("Range"), headers)
    seed(app)
    headers.update({
        "ETag": f'"{f.oid}"',
        "X-Linked-Etag": f'"{f.sha256}"',
        "X-Linked-Size": str(len(f.data)),
        "Location": blob_sas_url(app, f.blob_name(repo.repo_id)),
    })  # fmt: skip
    return empty_response(302, headers)


def file_response(data: bytes, ranged: str | None, headers: dict[str, str]) -> Response:
    """A regular file's bytes, or the one range `bytes=A-B` (or `A-`, `-N`) asked for (206)."""
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", ranged or "")
    if match is None or match.groups() == ("", ""):
        return Response(200, data, headers, content_type="application/octet-stream")
    first, last = match.groups()
    size = len(data)
    if first:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    else:
        start, end = max(0, size - int(last)), size - 1
    if start >= size or start > end:
        return Response(416, b"", {**headers, "Content-Range": f"bytes */{size}"}, content_type="")
    headers = {**headers, "Content-Range": f"bytes {start}-{end}/{size}"}
    return Response(206, data[start : end + 1], headers, content_type="application/octet-stream")


def blob_sas_url(app: App, blob: str) -> str:
    """A read-only pre-signed URL of a blob of the hub container (as the hub's CDN URLs are)."""
    from azure.storage.blob import BlobSasPermissions, generate_blob_sas

    start = datetime.now(UTC) - timedelta(minutes=5)  # tolerate clock skew like Azure does
    sas = generate_blob_sas(
        account_name=DEV_ACCOUNT,
        container_name=HUB_CONTAINER,
        blob_name=blob,
        account_key=app.storage_key,
        permission=BlobSasPermissions(read=True),
        start=start,
        expiry=datetime.now(UTC) + timedelta(minutes=app.settings.sas_minutes),
    )
    return f"{app.container_url(HUB_CONTAINER, quote(blob))}?{sas}"
