"""Fault injection for the simulator's HTTP layer: scripted (`fail_next`) and random (from config).

Kinds: `timeout` (hold the request, never answer, not processed), `reset` (connection reset, not
processed), `500`, `429` (Kalshi's `{"error":"too many requests"}`), `accept_then_drop` (the engine
processes the request, then the response is lost — the crash window an order manager must survive),
`reject` (a 400 refusal), `latency` (answer late, processed).
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass
from typing import Literal

from daemon.exchange.sim.config import FaultConfig

FaultKind = Literal["timeout", "reset", "500", "429", "accept_then_drop", "reject", "latency"]
KINDS: tuple[str, ...] = ("timeout", "reset", "500", "429", "accept_then_drop", "reject", "latency")
_ORDER_CREATE = re.compile(r"^/portfolio/events/orders$")


@dataclass
class _Scripted:
    pattern: re.Pattern[str]
    kind: str
    remaining: int
    method: str | None
    seconds: float


@dataclass(frozen=True)
class Fault:
    kind: str
    seconds: float = 0.0


class Faults:
    def __init__(self, config: FaultConfig | None = None, seed: int = 0) -> None:
        self.config = config or FaultConfig()
        self._rng = random.Random(seed)
        self._scripted: list[_Scripted] = []
        self._lock = threading.Lock()
        self.injected: list[tuple[str, str, str]] = []     # (method, path, kind) for test assertions

    def fail_next(self, path_regex: str, kind: str = "500", count: int = 1, *, method: str | None = None,
                  seconds: float | None = None) -> None:
        """The next `count` requests whose API path (after `/trade-api/v2`) matches get fault `kind`."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(KINDS)}")
        hold = self.config.timeout_hold_seconds if seconds is None else seconds
        with self._lock:
            self._scripted.append(_Scripted(re.compile(path_regex), kind, count, method and method.upper(), hold))

    def clear(self) -> None:
        with self._lock:
            self._scripted.clear()

    def pick(self, method: str, path: str) -> Fault | None:
        """The fault for this request, if any (scripted faults first, then configured random rates)."""
        with self._lock:
            for item in self._scripted:
                if item.remaining > 0 and item.pattern.search(path) and item.method in (None, method):
                    item.remaining -= 1
                    if item.remaining == 0:
                        self._scripted.remove(item)
                    self.injected.append((method, path, item.kind))
                    return Fault(item.kind, item.seconds)
            return self._random(method, path)

    def _random(self, method: str, path: str) -> Fault | None:
        cfg = self.config
        roll = self._rng.random()
        kind: str | None = None
        if roll < cfg.error_500_rate:
            kind = "500"
        elif roll < cfg.error_500_rate + cfg.rate_429_rate:
            kind = "429"
        elif method == "POST" and _ORDER_CREATE.search(path):
            order_roll = self._rng.random()
            if order_roll < cfg.drop_after_accept_rate:
                kind = "accept_then_drop"
            elif order_roll < cfg.drop_after_accept_rate + cfg.reject_rate:
                kind = "reject"
        if kind is None:
            return Fault("latency", cfg.latency_ms / 1000) if cfg.latency_ms else None
        self.injected.append((method, path, kind))
        return Fault(kind, cfg.timeout_hold_seconds if kind == "timeout" else cfg.latency_ms / 1000)
