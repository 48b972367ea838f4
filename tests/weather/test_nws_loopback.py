"""The client over a real socket: a loopback HTTP server replaying recorded NWS documents."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from daemon.clock import SimulatedClock
from daemon.weather.errors import GridExpiredError
from daemon.weather.nws import NwsClient

MODIFIED = datetime(2026, 7, 9, 19, 3, 33, tzinfo=UTC)


@pytest.fixture
def server(shared_data: Path) -> Iterator[tuple[str, list[dict]]]:
    grid = (shared_data / "fixtures" / "nws_api" / "gridpoint_raw_nyc_2026_trimmed.json").read_bytes()
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
            if self.path == "/gridpoints/OKX/34,45":
                since = self.headers.get("If-Modified-Since")
                if since and parsedate_to_datetime(since) >= MODIFIED:
                    self.send_response(304)
                    self.end_headers()
                    return
                self._send(200, grid, "application/geo+json", {"Last-Modified": format_datetime(MODIFIED, usegmt=True)})
            else:
                body = json.dumps({"correlationId": "c0ffee", "title": "Forecast Grid Expired",
                                   "type": "https://api.weather.gov/problems/ForecastGridExpired",
                                   "status": 503, "detail": "expired", "instance": "x"}).encode()  # fmt: skip
                self._send(503, body, "application/problem+json", {})

        def _send(self, status: int, body: bytes, ctype: str, headers: dict) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()
    httpd.server_close()


def test_conditional_get_and_problem_over_a_real_socket(server) -> None:
    base, seen = server
    with NwsClient(SimulatedClock(MODIFIED), "milkbot-test (ops@example.invalid)", base) as client:
        first = client.get("/gridpoints/OKX/34,45")
        second = client.get("/gridpoints/OKX/34,45")
        assert first.payload["properties"]["updateTime"] == "2026-07-09T19:03:33+00:00"
        assert second.not_modified and second.payload == first.payload
        with pytest.raises(GridExpiredError) as info:
            client.get("/gridpoints/BOX/71,90/forecast")
    assert info.value.correlation_id == "c0ffee"
    assert seen[0]["user-agent"] == "milkbot-test (ops@example.invalid)"
    assert "if-modified-since" not in seen[0] and seen[1]["if-modified-since"] == "Thu, 09 Jul 2026 19:03:33 GMT"
