"""A tiny real HTTP server on loopback that speaks Kalshi's wire format, with fault injection.

Not the simulator (that lives in daemon/exchange/sim): just enough routes, in-memory orders and
signature checks to drive the client's success and failure paths over real sockets.
"""

from __future__ import annotations

import json
import os
import re
import socket
import struct
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from daemon.exchange.signing import (
    HEADER_KEY,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    load_private_key,
    verify_signature,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "exchange"
PREFIX = "/trade-api/v2"
KEY_ID = "0b9c8d6e-1f2a-4b3c-9d8e-7f6a5b4c3d2e"


def fixture_bytes(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class Fault:
    method: str
    path_regex: str
    kind: str          # 'timeout' | 'reset' | '500' | '429' | 'accept_then_drop' | 'json:<status>:<body>'
    count: int = 1


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class StubState:
    public_key: Any
    key_id: str = KEY_ID
    requests: list[Recorded] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    routes: dict[tuple[str, str], Callable[[dict[str, list[str]], Any], tuple[int, Any]]] = field(
        default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    sleep_s: float = 3.0

    def fail_next(self, method: str, path_regex: str, kind: str, count: int = 1) -> None:
        with self.lock:
            self.faults.append(Fault(method, path_regex, kind, count))

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.method == method and re.search(fault.path_regex, path) and fault.count > 0:
                    fault.count -= 1
                    return fault
        return None

    def calls(self, method: str, path_regex: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and re.search(path_regex, r.path)]


class _Handler(BaseHTTPRequestHandler):
    server_version = "stub-kalshi"
    protocol_version = "HTTP/1.1"
    state: StubState

    def log_message(self, *args: Any) -> None:   # keep pytest output clean
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        query = parse_qs(parts.query)
        state = self.state
        state.requests.append(Recorded(method, parts.path, query, dict(self.headers.items()), body))
        fault = state.take_fault(method, parts.path)
        if fault and fault.kind == "reset":
            return self._reset()
        if fault and fault.kind == "500":
            return self._send(500, {"error": {"code": "internal_server_error", "message": "boom"}})
        if fault and fault.kind == "429":
            return self._send(429, {"error": "too many requests"})
        if fault and fault.kind.startswith("json:"):
            _, status, text = fault.kind.split(":", 2)
            return self._send(int(status), json.loads(text))
        if parts.path.startswith(PREFIX + "/portfolio") and not self._authorised(method, parts.path):
            return self._send(401, {"error": {"code": "unauthorized", "message": "bad signature"}})
        status, payload = self._route(method, parts.path.removeprefix(PREFIX), query, body)
        if fault and fault.kind == "accept_then_drop":
            return self._reset()
        if fault and fault.kind == "timeout":
            state.stop.wait(state.sleep_s)     # the client gives up first; the order stays accepted
        self._send(status, payload)

    def _authorised(self, method: str, path: str) -> bool:
        key_id = self.headers.get(HEADER_KEY)
        ts = self.headers.get(HEADER_TIMESTAMP, "")
        sig = self.headers.get(HEADER_SIGNATURE, "")
        if key_id != self.state.key_id or not ts.isdigit():
            return False
        return verify_signature(self.state.public_key, sig, int(ts), method, path)

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        for (route_method, pattern), handler in self.state.routes.items():
            if route_method == method and re.fullmatch(pattern, path):
                return handler(query, body)
        return _default_route(self.state, method, path, query, body)

    def _send(self, status: int, payload: Any) -> None:
        data = payload if isinstance(payload, bytes) else (b"" if payload is None else dumps(payload))
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass

    def _reset(self) -> None:
        # SO_LINGER 0 → the close sends RST: the client sees a connection reset, no response.
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass


def _order_from_create(body: dict[str, Any]) -> dict[str, Any]:
    side = body["side"]
    yes_price = body["price"]
    no_price = str(Decimal(1) - Decimal(yes_price))
    return {
        "order_id": str(uuid.uuid4()), "client_order_id": body.get("client_order_id", ""),
        "ticker": body["ticker"], "book_side": side, "outcome_side": "yes" if side == "bid" else "no",
        "side": "yes" if side == "bid" else "no", "action": "buy", "type": "limit", "status": "resting",
        "yes_price_dollars": yes_price, "no_price_dollars": no_price,
        "initial_count_fp": body["count"], "fill_count_fp": "0.00", "remaining_count_fp": body["count"],
        "taker_fees_dollars": "0.0000", "maker_fees_dollars": "0.0000",
        "created_time": "2026-01-15T12:00:00.123456Z", "last_update_time": "2026-01-15T12:00:00.123456Z",
    }


def _default_route(state: StubState, method: str, path: str, query: dict[str, list[str]],
                   body: Any) -> tuple[int, Any]:
    if method == "POST" and path == "/portfolio/orders":
        return 400, {"error": {"code": "deprecated_v1_order_endpoint",
                               "message": "Please switch to the V2 endpoints"}}
    if method == "POST" and path == "/portfolio/events/orders":
        cid = body.get("client_order_id")
        with state.lock:
            if cid and any(o["client_order_id"] == cid for o in state.orders.values()):
                return 409, {"error": {"code": "order_already_exists",
                                       "message": "order with this client_order_id already exists"}}
            order = _order_from_create(body)
            state.orders[order["order_id"]] = order
        return 201, {"order_id": order["order_id"], "client_order_id": cid, "fill_count": "0.00",
                     "remaining_count": order["remaining_count_fp"], "ts_ms": 1768478400123}
    if method == "GET" and path == "/portfolio/orders":
        orders = [o for o in state.orders.values()
                  if not query.get("ticker") or o["ticker"] == query["ticker"][0]]
        return _paged(orders, "orders", query)
    match = re.fullmatch(r"/portfolio/orders/([^/]+)", path)
    if method == "GET" and match:
        order = state.orders.get(match.group(1))
        return (200, {"order": order}) if order else (404, {"error": {"code": "not_found"}})
    match = re.fullmatch(r"/portfolio/events/orders/([^/]+)", path)
    if method == "DELETE" and match:
        order = state.orders.get(match.group(1))
        if order is None:
            return 404, {"error": {"code": "not_found", "message": "order not found"}}
        reduced = order["remaining_count_fp"]
        order.update(status="canceled", remaining_count_fp="0.00")
        return 200, {"order_id": order["order_id"], "client_order_id": order["client_order_id"],
                     "reduced_by": reduced, "ts_ms": 1768478401000}
    if method == "GET" and path == "/portfolio/balance":
        return 200, {"balance": 123456, "balance_dollars": "1234.56", "portfolio_value": 7890,
                     "updated_ts": 1768478400}
    return 404, {"error": {"code": "not_found", "message": f"no route {method} {path}"}}


def _paged(items: list[Any], key: str, query: dict[str, list[str]], page_size: int = 2) -> tuple[int, Any]:
    start = int(query.get("cursor", ["0"])[0] or 0)
    chunk = items[start:start + page_size]
    nxt = start + page_size
    return 200, {key: chunk, "cursor": str(nxt) if nxt < len(items) else ""}


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return load_private_key(_key_file(), allow_insecure_permissions=True)


def _key_file() -> Path:
    return FIXTURES / "test_rsa_private_key.pem"


@pytest.fixture
def stub(rsa_key: rsa.RSAPrivateKey) -> Iterator[tuple[StubState, str]]:
    state = StubState(public_key=rsa_key.public_key())
    handler = type("BoundHandler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}{PREFIX}"
    try:
        yield state, url
    finally:
        state.stop.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def private_key_copy(tmp_path: Path) -> Path:
    """The test key in a 0600 file, as a real deployment would hold it."""
    path = tmp_path / "kalshi.pem"
    path.write_bytes(_key_file().read_bytes())
    os.chmod(path, 0o600)
    return path
