"""The built site on disk: writes files, names hashed assets by content, records every file's SHA-256.

The manifest (`release.json`) lists every file with its hash and size; targets diff it against what is
already uploaded. Nothing here reads the clock: the same inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

RELEASE_FILE = "release.json"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    "": "text/plain; charset=utf-8",
}
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=60, must-revalidate"


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    size: int


def content_type(path: str) -> str:
    return CONTENT_TYPES.get(PurePosixPath(path).suffix, "application/octet-stream")


def is_hashed(path: str) -> bool:
    """Content-addressed files never change under the same name: cache them for a year."""
    return path.startswith(("assets/", "charts/"))


def cache_control(path: str) -> str:
    return IMMUTABLE if is_hashed(path) else SHORT


class SiteWriter:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, FileEntry] = {}

    def write(self, path: str, content: bytes | str) -> str:
        data = content.encode("utf-8") if isinstance(content, str) else content
        if path in self.files:
            raise ValueError(f"{path} written twice")
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self.files[path] = FileEntry(hashlib.sha256(data).hexdigest(), len(data))
        return path

    def write_json(self, path: str, value: object) -> str:
        return self.write(path, json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n")

    def write_hashed(self, folder: str, stem: str, suffix: str, content: bytes) -> str:
        digest = hashlib.sha256(content).hexdigest()[:12]
        return self.write(f"{folder}/{stem}.{digest}{suffix}", content)

    def write_release(self, meta: dict) -> None:
        files = {p: {"sha256": e.sha256, "size": e.size} for p, e in sorted(self.files.items())}
        text = json.dumps({**meta, "files": files}, indent=1, sort_keys=True) + "\n"
        (self.root / RELEASE_FILE).write_text(text, encoding="utf-8")


def read_release(root: Path) -> dict:
    return json.loads((root / RELEASE_FILE).read_text(encoding="utf-8"))
