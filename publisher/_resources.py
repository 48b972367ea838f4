"""Where the site's templates and static assets are: the copy installed with the package, else the repo's.

The owner keeps them at the top of the repository (site_templates/, site_assets/). A wheel carries a copy
inside the package (`publisher/_site/…`, put there by setup.py's build step), so a plain `pip install .`
works without the source tree; an editable install finds the repository folders instead.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

INSTALLED_DIR = "_site"
SITE_DIRS = ("site_templates", "site_assets")
_REPO = Path(__file__).resolve().parents[1]


class ResourceError(RuntimeError):
    """The site templates or assets are missing from both the installed package and the source tree."""


def _package_root() -> Path:
    return Path(str(resources.files("publisher")))


def site_dir(name: str) -> Path:
    """The folder `name` (one of SITE_DIRS), preferring the installed copy."""
    if name not in SITE_DIRS:
        raise ValueError(f"unknown site folder {name!r}")
    installed = _package_root() / INSTALLED_DIR / name
    for candidate in (installed, _REPO / name):
        if candidate.is_dir():
            return candidate
    raise ResourceError(f"{name}/ not found in the installed package ({installed}) or the source tree")


def templates_dir() -> Path:
    return site_dir("site_templates")


def assets_dir() -> Path:
    return site_dir("site_assets")
