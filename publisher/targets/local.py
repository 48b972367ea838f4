"""The local target: the built folder replaces the previous one in a single rename, so a failed build
leaves the previous release intact. Reports which files changed against the previous release.json."""

from __future__ import annotations

import shutil
from pathlib import Path

from publisher.site import RELEASE_FILE, read_release
from publisher.targets import SyncReport


def _previous_files(out_dir: Path) -> dict[str, dict]:
    try:
        return read_release(out_dir)["files"]
    except (FileNotFoundError, KeyError, ValueError):
        return {}


def install(build_dir: Path, out_dir: Path) -> SyncReport:
    """Move `build_dir` (on the same filesystem) into place as `out_dir`."""
    before, after = _previous_files(out_dir), read_release(build_dir)["files"]
    report = SyncReport("local", str(out_dir))
    for path, entry in sorted(after.items()):
        (report.skipped if before.get(path, {}).get("sha256") == entry["sha256"] else report.uploaded).append(path)
    report.deleted = sorted(set(before) - set(after))
    retired = out_dir.with_name(f".{out_dir.name}.previous")
    shutil.rmtree(retired, ignore_errors=True)
    if out_dir.exists():
        out_dir.rename(retired)
    build_dir.rename(out_dir)
    shutil.rmtree(retired, ignore_errors=True)
    return report


class OutputDirError(RuntimeError):
    """The output folder cannot be created or written (bad input: e.g. a path under a regular file)."""


def staging_dir(out_dir: Path) -> Path:
    """A fresh sibling folder to build into (same filesystem, so install is a rename)."""
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        if out_dir.exists() and not out_dir.is_dir():
            raise NotADirectoryError(20, "Not a directory", str(out_dir))
    except OSError as exc:
        where = exc.filename or out_dir
        raise OutputDirError(f"cannot write the site to {out_dir}: {where}: {exc.strerror or exc}") from None
    staging = out_dir.with_name(f".{out_dir.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    return staging


__all__ = ["RELEASE_FILE", "OutputDirError", "install", "staging_dir"]
