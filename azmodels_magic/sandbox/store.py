"""The sandbox's state in SQLite: secrets, deployments (per account), models, pending uploads,
operations and the inference request log. Every SQL statement of the sandbox is here, behind a
named method; the route modules call those.

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

    # -- deployments --------------------------------------------------------------------------

    def deployment(self, account: str, name: str) -> sqlite3.Row | None:
        return self.one("SELECT * FROM deployments WHERE account = ? AND name = ?", (account, name))

    def count_deployments(self, account: str) -> int:
        return self.one("SELECT COUNT(*) AS n FROM deployments WHERE account = ?", (account,))["n"]

    def deployments_page(self, account: str, limit: int, offset: int) -> list[sqlite3.Row]:
        return self.query(
            "SELECT * FROM deployments WHERE account = ? ORDER BY name LIMIT ? OFFSET ?",
            (account, limit, offset),
        )

    def deployment_targets(self) -> list[sqlite3.Row]:
        """What each deployment not being deleted holds or will hold (for quota)."""
        return self.query(
            "SELECT account, name, target_sku, target_usage, target_capacity FROM deployments "
            "WHERE delete_at IS NULL"
        )

    def drop_gone_deployments(self, t: float) -> None:
        self.execute("DELETE FROM deployments WHERE gone_at IS NOT NULL AND gone_at <= ?", (t,))

    def deployments_with_update_due(self, t: float) -> list[sqlite3.Row]:
        return self.query(
            "SELECT * FROM deployments WHERE pending IS NOT NULL AND pending_until <= ?", (t,)
        )

    def apply_deployment_update(self, d: dict[str, Any]) -> None:
        """Write a finished update's columns (as `d` has them) and clear the pending one."""
        self.execute(
            "UPDATE deployments SET sku_name=?, capacity=?, model=?, custom=?, capabilities=?, "
            "rate_limits=?, skus=?, pending=NULL, pending_until=NULL WHERE account=? AND name=?",
            (
                d["sku_name"],
                d["capacity"],
                d["model"],
                d["custom"],
                d["capabilities"],
                d["rate_limits"],
                d["skus"],
                d["account"],
                d["name"],
            ),
        )

    def delete_deployment(self, account: str, name: str) -> None:
        self.execute("DELETE FROM deployments WHERE account = ? AND name = ?", (account, name))

    def insert_deployment(self, columns: dict[str, Any]) -> None:
        """A new deployment; `columns` names every value the statement binds."""
        self.execute(
            "INSERT INTO deployments (account, name, sku_name, capacity, model, custom, "
            "capabilities, rate_limits, skus, version_upgrade_option, rai_policy_name, tags, "
            "created_at, created_by, modified_at, accepted_until, ready_at, target_sku, "
            "target_capacity, create_op, last_op, target_usage) VALUES (:account, :name, "
            ":sku_name, :capacity, :model, :custom, :capabilities, :rate_limits, :skus, "
            ":upgrade, :rai, :tags, :t, :user, :t, "
            ":accepted, :ready, :sku_name, :capacity, :op, :op, :usage)",
            columns,
        )

    def set_deployment_settings(
        self, account: str, name: str, tags: str, upgrade: str, rai: str | None, t: float
    ) -> None:
        self.execute(
            "UPDATE deployments SET tags=?, version_upgrade_option=?, rai_policy_name=?, "
            "modified_at=? WHERE account=? AND name=?",
            (tags, upgrade, rai, t, account, name),
        )

    def set_deployment_tags(self, account: str, name: str, tags: str, t: float) -> None:
        self.execute(
            "UPDATE deployments SET tags=?, modified_at=? WHERE account=? AND name=?",
            (tags, t, account, name),
        )

    def start_deployment_update(
        self,
        account: str,
        name: str,
        pending: str,
        until: float,
        target: tuple[str, int, str],
        t: float,
        op_id: str,
    ) -> None:
        """Record an update applied at `until`; `target` is (sku, capacity, quota usage)."""
        sku, capacity, usage = target
        self.execute(
            "UPDATE deployments SET pending=?, pending_until=?, target_sku=?, target_capacity=?, "
            "target_usage=?, modified_at=?, last_op=? WHERE account=? AND name=?",
            (pending, until, sku, capacity, usage, t, op_id, account, name),
        )

    def start_deployment_delete(
        self, account: str, name: str, t: float, gone: float, op_id: str
    ) -> None:
        self.execute(
            "UPDATE deployments SET delete_at=?, gone_at=?, last_op=?, pending=NULL, "
            "pending_until=NULL WHERE account=? AND name=?",
            (t, gone, op_id, account, name),
        )

    # -- models ---------------------------------------------------------------------------------

    def model(self, name: str, version: str) -> sqlite3.Row | None:
        return self.one("SELECT * FROM models WHERE name = ? AND version = ?", (name, version))

    def models(self) -> list[sqlite3.Row]:
        return self.query("SELECT * FROM models")

    def model_versions(self, name: str) -> list[sqlite3.Row]:
        return self.query("SELECT * FROM models WHERE name = ?", (name,))

    def has_model(self, name: str) -> bool:
        return self.one("SELECT 1 FROM models WHERE name = ?", (name,)) is not None

    def ready_model_version(self, name: str, version: str | None, t: float) -> str | None:
        """`version` of model `name` if it is ready at t; with None, its newest ready version."""
        if version is None:
            row = self.one(
                "SELECT version FROM models WHERE name = ? AND ready_at <= ? "
                "ORDER BY created_at DESC LIMIT 1",
                (name, t),
            )
        else:
            row = self.one(
                "SELECT version FROM models WHERE name = ? AND version = ? AND ready_at <= ?",
                (name, version, t),
            )
        return row["version"] if row else None

    def model_of_operation(self, op_id: str) -> sqlite3.Row | None:
        return self.one("SELECT * FROM models WHERE op_id = ?", (op_id,))

    def insert_model(self, values: tuple) -> None:
        """A new model version: `values` in the order of the models table's columns."""
        self.execute(
            "INSERT INTO models (name, version, description, tags, weight_type, base_model, "
            "lora_config, extra, container, prefix, created_at, created_by, modified_at, "
            "ready_at, op_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )

    def set_model_ready(self, op_id: str, ready: float, extra: str) -> None:
        self.execute(
            "UPDATE models SET ready_at = ?, extra = ? WHERE op_id = ?", (ready, extra, op_id)
        )

    def set_model_description_tags(
        self, name: str, version: str, description: str | None, tags: str, t: float
    ) -> None:
        self.execute(
            "UPDATE models SET description=?, tags=?, modified_at=? WHERE name=? AND version=?",
            (description, tags, t, name, version),
        )

    def delete_model(self, name: str, version: str) -> None:
        self.execute("DELETE FROM models WHERE name = ? AND version = ?", (name, version))

    def delete_model_of_operation(self, op_id: str) -> None:
        self.execute("DELETE FROM models WHERE op_id = ?", (op_id,))

    # -- pending uploads ------------------------------------------------------------------------

    def pending_upload(self, upload_id: str) -> sqlite3.Row | None:
        return self.one("SELECT * FROM pending_uploads WHERE id = ?", (upload_id,))

    def insert_pending_upload(
        self, upload_id: str, name: str, version: str, container: str, data_ref: str, t: float
    ) -> None:
        self.execute(
            "INSERT INTO pending_uploads (id, name, version, container, data_reference_id, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (upload_id, name, version, container, data_ref, t),
        )

    def is_upload_container(self, container: str) -> bool:
        return (
            self.one("SELECT 1 FROM pending_uploads WHERE container = ?", (container,)) is not None
        )

    # -- operations -----------------------------------------------------------------------------

    def operation(self, op_id: str) -> sqlite3.Row | None:
        return self.one("SELECT * FROM operations WHERE id = ?", (op_id,))

    def insert_operation(
        self, op_id: str, kind: str, target: str, start: float, end: float, version: str | None
    ) -> None:
        self.execute(
            "INSERT INTO operations (id, kind, target, version, started_at, ends_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (op_id, kind, target, version, start, end),
        )

    def end_operation(self, op_id: str, ends_at: float) -> None:
        self.execute("UPDATE operations SET ends_at = ? WHERE id = ?", (ends_at, op_id))

    def fail_operation(self, op_id: str, t: float, error: str) -> None:
        self.execute(
            "UPDATE operations SET final_status = 'Failed', ends_at = ?, error = ? WHERE id = ?",
            (t, error, op_id),
        )

    def cancel_running_operations(self, op_ids: tuple[str, ...], t: float, error: str) -> None:
        """Cancel those of `op_ids` still running at t."""
        marks = ", ".join("?" * len(op_ids))
        self.execute(
            "UPDATE operations SET final_status = 'Canceled', ends_at = ?, error = ? "
            f"WHERE id IN ({marks}) AND final_status IS NULL AND ends_at > ?",
            (t, error, *op_ids, t),
        )

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
