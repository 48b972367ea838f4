"""A loopback preview server for a built site that applies its `_headers` file the way Pages does
(so the strict CSP is exercised locally and in the browser test). Never for production serving."""

from __future__ import annotations

import fnmatch
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from publisher.headers import parse_headers


def _headers_for(blocks, path: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for pattern, headers, detached in blocks:
        if fnmatch.fnmatch(path, pattern.replace(":splat", "*")):
            for name in detached:
                merged.pop(name, None)
            merged.update(headers)
    return merged


class _Handler(SimpleHTTPRequestHandler):
    blocks: ClassVar[list] = []

    def end_headers(self) -> None:
        for name, value in _headers_for(self.blocks, self.path.split("?", 1)[0]).items():
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read the page, not the access log."""


def make_server(root: Path, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    headers = root / "_headers"
    blocks = parse_headers(headers.read_text(encoding="utf-8")) if headers.exists() else []
    handler = type("SiteHandler", (_Handler,), {"blocks": blocks})
    return ThreadingHTTPServer((host, port), functools.partial(handler, directory=str(root)))


def start(root: Path, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """Serve in a background thread; `shutdown()` stops it."""
    server = make_server(root, host, port)
    threading.Thread(target=server.serve_forever, name="site-preview", daemon=True).start()
    return server
