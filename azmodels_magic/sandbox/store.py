"""The sandbox's state in SQLite: secrets, deployments (per account), models, pending uploads,
operations and the inference request log.

Times are stored as epoch seconds and states are derived from them when read, so a long-running
operation keeps progressing across a restart. One connection behind a lock: the server's threads
do short transactions, and the lock keeps check-then-write sequences (quota) atomic.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deployments (
    account TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL COLLATE NOCASE,
    sku_name TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    model TEXT NOT NULL,
    custom INTEGER NOT NULL,
    capabilities TEXT NOT NULL,
    rate_limits TEXT NOT NULL,
    skus TEXT NOT NULL,
    version_upgrade_option TEXT NOT NULL,
    rai_policy_name TEXT,
    tags TEXT NOT NULL,
    created_at REAL NOT NULL,
    created_by TEXT NOT NULL,
    modified_at REAL NOT NULL,
    accepted_until REAL NOT NULL,
    ready_at REAL NOT NULL,
    pending TEXT,
    pending_until REAL,
    target_sku TEXT NOT NULL,
    target_capacity INTEGER NOT NULL,
    delete_at REAL,
    gone_at REAL,
    create_op TEXT,
    last_op TEXT,
    target_usage TEXT,
    PRIMARY KEY (account, name)
);
CREATE TABLE IF NOT EXISTS models (
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    description TEXT,
    tags TEXT NOT NULL,
    weight_type TEXT NOT NULL,
    base_model TEXT,
    lora_config TEXT,
    extra TEXT,
    container TEXT NOT NULL,
    prefix TEXT NOT NULL,
    created_at REAL NOT NULL,
    created_by TEXT NOT NULL,
    modified_at REAL NOT NULL,
    ready_at REAL NOT NULL,
    op_id TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS pending_uploads (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    container TEXT NOT NULL UNIQUE,
    data_reference_id TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    version TEXT,
    started_at REAL NOT NULL,
    ends_at REAL NOT NULL,
    final_status TEXT,
    error TEXT
);
CREATE TABLE IF NOT EXISTS requests (
    deployment TEXT NOT NULL COLLATE NOCASE,
    at REAL NOT NULL,
    latency_ms REAL NOT NULL,
    status INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_by_time ON requests (deployment, at);
"""


class Store:
    """Thread-safe access to the sandbox database."""

    def __init__(self, path: str | Path, default_account: str = ""):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self.lock = threading.RLock()
        with self.lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._migrate(default_account)
            self._conn.executescript(SCHEMA)
            models = [r[1] for r in self._conn.execute("PRAGMA table_info(models)")]
            if "extra" not in models:  # data folders from before catalogInfo and profiles
                self._conn.execute("ALTER TABLE models ADD COLUMN extra TEXT")

    def _migrate(self, default_account: str) -> None:
        """Data folders from before accounts existed: their deployments join the default one."""
        columns = [r[1] for r in self._conn.execute("PRAGMA table_info(deployments)")]
        if not columns or "account" in columns:
            return
        self._conn.execute("ALTER TABLE deployments RENAME TO deployments_old")
        self._conn.executescript(SCHEMA)
        kept = ", ".join(columns)
        self._conn.execute(
            f"INSERT INTO deployments (account, {kept}) SELECT ?, {kept} FROM deployments_old",
            (default_account,),
        )
        self._conn.execute("DROP TABLE deployments_old")

    def close(self) -> None:
        with self.lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction under the lock (nested calls join the outer one)."""
        with self.lock:
            if self._conn.in_transaction:
                yield self._conn
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self._conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: tuple | dict = ()) -> sqlite3.Row | None:
        with self.lock:
            return self._conn.execute(sql, params).fetchone()

    def execute(self, sql: str, params: tuple | dict = ()) -> int:
        with self.lock:
            return self._conn.execute(sql, params).rowcount

    # -- meta: tokens, keys, the previous Azurite port ------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def secret(self, key: str, nbytes: int = 32) -> str:
        """A random secret created on first use and kept for later runs on this data dir."""
        with self.transaction():
            value = self.meta(key)
            if value is None:
                value = secrets.token_urlsafe(nbytes)
                self.set_meta(key, value)
            return value

    # -- inference request log ------------------------------------------------------------------

    def log_request(self, deployment: str, at: float, latency_ms: float, status: int) -> None:
        self.execute(
            "INSERT INTO requests (deployment, at, latency_ms, status) VALUES (?, ?, ?, ?)",
            (deployment, at, latency_ms, status),
        )

    def requests_between(self, start: float, end: float, deployment: str | None) -> list[tuple]:
        if deployment is None:
            sql = "SELECT deployment, at, latency_ms, status FROM requests WHERE at >= ? AND at < ?"
            return [tuple(r) for r in self.query(sql, (start, end))]
        sql = (
            "SELECT deployment, at, latency_ms, status FROM requests "
            "WHERE deployment = ? AND at >= ? AND at < ?"
        )
        return [tuple(r) for r in self.query(sql, (deployment, start, end))]


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def loads(text: str | None, default: Any = None) -> Any:
    return json.loads(text) if text else default


def now() -> float:
    return time.time()
