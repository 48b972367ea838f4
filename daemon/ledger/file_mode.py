"""Who may read the DuckDB ledger: its owner only. The file holds every order, fill and decision.

Policy (README, "Files and permissions"): a directory the ledger needs is created 0700; the ledger
file and its WAL are set to 0600 whenever this process owns them, tightening looser modes left by
older versions. An existing directory that lets group or others in is never changed here (it may be
a home folder or shared, and DuckDB re-creates its WAL there with the process umask), so it is named
in a warning with the fix instead. Never raises for a permission it cannot change: opening the
ledger matters more; it warns.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700
_SIDE_FILES = (".wal",)


def prepare_directory(ledger: Path) -> None:
    """Create the ledger's missing parent directories 0700; warn if an existing one is open."""
    parent = ledger.parent
    missing = []
    for folder in (parent, *parent.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        folder.mkdir(mode=DIR_MODE, exist_ok=True)
        _chmod(folder, DIR_MODE)  # exactly 0700, whatever the umask
    if not missing:
        _warn_if_open(parent)


def tighten(ledger: Path) -> None:
    """Set the ledger file (and its WAL, if present) to 0600 where this process owns them."""
    for path in (ledger, *(ledger.with_name(ledger.name + s) for s in _SIDE_FILES)):
        try:
            info = path.stat()
        except FileNotFoundError:
            continue
        if stat.S_IMODE(info.st_mode) & 0o077 == 0:
            continue
        if info.st_uid != os.getuid():
            log.warning(
                "ledger file %s is readable by others (mode %o) and owned by another "
                "user: ask its owner to run chmod 600 on it",
                path,
                stat.S_IMODE(info.st_mode),
            )
            continue
        _chmod(path, FILE_MODE)


def _warn_if_open(folder: Path) -> None:
    try:
        mode = stat.S_IMODE(folder.stat().st_mode)
    except OSError:
        return
    if mode & 0o077:
        log.warning(
            "ledger directory %s is open to other users (mode %o): they can read the "
            "ledger's WAL; run chmod 700 %s or move the ledger into a private directory",
            folder,
            mode,
            folder,
        )


def _chmod(path: Path, mode: int) -> None:
    try:
        path.chmod(mode)
    except OSError as exc:
        log.warning("could not set %s to mode %o: %s", path, mode, exc)
