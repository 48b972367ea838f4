"""Append-only JSON-lines journal of the simulator's inputs; replaying it rebuilds the exact state."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

_VERSION = 1


class SimStateError(RuntimeError):
    """The state file is unreadable or belongs to a differently seeded simulator."""


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot journal {type(value).__name__}")


class Journal:
    def __init__(self, path: Path, seed: int, *, fsync: bool = False) -> None:
        self.path = Path(path)
        self.seed = seed
        self._fsync = fsync
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        self._handle: IO[str] = self.path.open("a", encoding="utf-8")
        if fresh:
            self.append({"op": "header", "version": _VERSION, "seed": seed})

    def read(self) -> Iterator[dict[str, Any]]:
        """Entries after the header. A torn last line (crash mid-write) is ignored."""
        with self.path.open(encoding="utf-8") as handle:
            lines = handle.read().split("\n")
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                if number >= len(lines) - 1:
                    return
                raise SimStateError(f"{self.path}:{number}: corrupt journal line") from None
            if entry.get("op") == "header":
                if entry.get("seed") != self.seed or entry.get("version") != _VERSION:
                    raise SimStateError(f"{self.path} was written with seed {entry.get('seed')} "
                                        f"(version {entry.get('version')}); this simulator has seed {self.seed}")
                continue
            yield entry

    def append(self, entry: dict[str, Any]) -> None:
        self._handle.write(json.dumps(entry, default=_default, separators=(",", ":")) + "\n")
        self._handle.flush()
        if self._fsync:
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()
