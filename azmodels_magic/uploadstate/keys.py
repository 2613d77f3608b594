"""The key of an upload, and what in an endpoint names a project.

A key is "<project identity>|<name>|<version>". The project identity leaves out what is
incidental to an endpoint (scheme, port, user info, case of the host; any loopback address is
one), so a sandbox restarted on another port still finds its resumable uploads. Files of an upload
(journal, lock, replacement note) are named by the key's SHA-256 (`key_hash`).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Protocol
from urllib.parse import urlsplit

from ..config import is_loopback
from ..redaction import strip_query


def project_identity(endpoint: str) -> str:
    """What names a project in an endpoint URL: host (lowercase) and path. The scheme, port,
    user info, query and a trailing slash are incidental; every loopback address is 'loopback'
    (a sandbox restarted on another port or address is the same project)."""
    if "://" not in endpoint:
        return endpoint  # already an identity
    parts = urlsplit(endpoint.strip())
    host = (parts.hostname or "").lower()
    if is_loopback(host):
        host = "loopback"
    return f"{host}{parts.path.rstrip('/')}"


def same_location(url: str, other: str) -> bool:
    """Two URLs of one project or container, whatever their incidental details (a storage
    emulator restarted on another port still holds the same containers)."""
    return project_identity(strip_query(url)) == project_identity(strip_query(other))


def upload_key(
    project_endpoint: str, name: str, version: str, *, sandbox_dir: str | None = None
) -> str:
    """The journal key of one upload: the project's identity, the model name and version. A
    sandbox's project is named by its data folder as well: two sandboxes running side by side
    on loopback are two projects, one restarted on another port is the same one."""
    project = project_identity(project_endpoint)
    if sandbox_dir:
        project = f"{project}@{os.path.abspath(sandbox_dir)}"
    return f"{project}|{name}|{version}"


def normalize_key(key: str) -> str:
    """A key of any journal format in today's form (older ones held the full endpoint)."""
    parts = key.rsplit("|", 2)
    if len(parts) != 3:
        return key
    return upload_key(*parts)


def key_hash(key: str) -> str:
    return hashlib.sha256(normalize_key(key).encode("utf-8")).hexdigest()


class _Reaches(Protocol):
    """What names the project a connection reaches (a `connection.Connection`)."""

    config: Any  # its `project_endpoint`
    sandbox_dir: str | None


def key_for(connection: _Reaches, name: str, version: str) -> str:
    """The key of name/version in the project `connection` reaches."""
    return upload_key(
        connection.config.project_endpoint, name, version, sandbox_dir=connection.sandbox_dir
    )
