"""Real Azure answers, served on loopback exactly as they were recorded (not through our sandbox).

The recordings (tests/fixtures/azure/recordings, see its README) are azd's public go-vcr cassettes
of real ARM traffic. `RecordedAzure` answers a request whose method, path and query match a
recorded one with that interaction's status, headers and body, byte for byte; anything else gets
404 `NotRecorded` and is kept in `unrecorded`, so a test can say the client asked only for what
Azure was asked. Every request is kept (without its token) for the tests to inspect.
"""

from __future__ import annotations

import gzip
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

RECORDINGS = Path(__file__).resolve().parents[1] / "fixtures" / "azure" / "recordings"


def load(name: str) -> dict[str, Any]:
    """One vendored recording: {source, interactions: [{method, url, status, headers, body}]}."""
    with gzip.open(RECORDINGS / f"{name}.json.gz", "rt", encoding="utf-8") as f:
        return json.load(f)


def _key(method: str, url: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    parts = urlsplit(url)
    # ARM paths are case-insensitive; the query's order is not meaningful.
    return method.upper(), parts.path.lower(), tuple(sorted(parse_qsl(parts.query)))


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorization: str = field(repr=False, default="")


class RecordedAzure:
    """A loopback HTTP server answering with recorded interactions."""

    def __init__(self, *names: str) -> None:
        self.answers: dict[tuple, dict[str, Any]] = {}
        self.sources: list[dict[str, Any]] = []
        for name in names:
            recording = load(name)
            self.sources.append(recording["source"])
            for item in recording["interactions"]:
                self.answers.setdefault(_key(item["method"], item["url"]), item)
        self.seen: list[Seen] = []
        self.unrecorded: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def borrow(self, fragment: str, *, subscription: str) -> None:
        """Also answer the recorded GET whose URL contains `fragment` under another subscription
        (a real body, its path moved): the resource SKUs were recorded for one subscription only.
        """
        (answer,) = [a for a in self.recorded(fragment) if a["method"] == "GET"]
        parts = urlsplit(answer["url"])
        old = parts.path.split("/")[2]
        url = answer["url"].replace(f"/subscriptions/{old}/", f"/subscriptions/{subscription}/")
        self.answers.setdefault(_key("GET", url), {**answer, "url": url})

    def recorded(self, fragment: str) -> list[dict[str, Any]]:
        """The recorded interactions whose URL contains `fragment`."""
        return [a for a in self.answers.values() if fragment in a["url"]]

    def body(self, fragment: str) -> Any:
        (answer,) = [a for a in self.recorded(fragment) if a["method"] == "GET"]
        return json.loads(answer["body"])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                parts = urlsplit(self.path)
                replay.seen.append(
                    Seen(
                        self.command,
                        parts.path,
                        dict(parse_qsl(parts.query)),
                        body,
                        self.headers.get("Authorization") or "",
                    )
                )
                answer = replay.answers.get(_key(self.command, self.path))
                if answer is None:
                    replay.unrecorded.append(f"{self.command} {self.path}")
                    status, headers = 404, {"Content-Type": "application/json"}
                    payload = json.dumps(
                        {"error": {"code": "NotRecorded", "message": "not in the recording"}}
                    ).encode()
                else:
                    status, headers = answer["status"], dict(answer["headers"])
                    payload = answer["body"].encode("utf-8")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
