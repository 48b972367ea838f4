"""One publish: build the site as of T − delay, then hand it to the configured target.

The same function serves the publisher service (its own read-only connection) and the embedded daemon
(which passes its open ledger and its clock's time). T comes from the caller, never from here.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from publisher.build import BuildResult, build_site
from publisher.config import PublisherConfig
from publisher.targets import SyncReport
from publisher.targets import local as local_target


@dataclass(frozen=True)
class PublishResult:
    build: BuildResult
    sync: SyncReport


def publish(source: Any, config: PublisherConfig, published_at: datetime, *, target: str | None = None,
            out_dir: Path | None = None) -> PublishResult:
    """Build as of `published_at` and publish to `target` (default: the configured one)."""
    target = target or config.target
    if target == "local":
        out = Path(out_dir or config.output_dir or "site")
        staging = local_target.staging_dir(out)
        try:
            built = build_site(source, config, published_at, staging)
            return PublishResult(built, local_target.install(staging, out))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="milkbot-site-") as tmp:
        build_dir = Path(tmp) / "site"
        built = build_site(source, config, published_at, build_dir)
        if target == "r2":
            from publisher.targets.r2 import R2Target

            return PublishResult(built, R2Target(config).sync(build_dir, built.published_at))
        if target == "pages":
            from publisher.targets.pages import deploy

            return PublishResult(built, deploy(config, build_dir))
    raise ValueError(f"unknown publish target {target!r}")
