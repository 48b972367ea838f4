"""A non-editable install must carry the site templates and assets: build a wheel offline from a copy of the
source tree, check they are inside it, then import the publisher from the unpacked wheel (no source tree)
and render a page from it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "daemon", "publisher", "site_templates",
           "site_assets")
SITE_DIRS = ("site_templates", "site_assets")


def _site_files(name: str) -> dict[str, bytes]:
    root = REPO / name
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    pytest.importorskip("wheel", reason="the offline wheel build needs the `wheel` package in the venv")
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, src / name, ignore=ignore)
        else:
            shutil.copy2(source, src / name)
    out = tmp_path_factory.mktemp("wheelhouse")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "--no-index",
         "-q", "-w", str(out)], capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    (built,) = out.glob("milkbot-*.whl")
    return built


def test_the_wheel_carries_every_template_and_asset(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for folder in SITE_DIRS:
            expected = _site_files(folder)
            assert expected, f"{folder}/ is empty in the repo"
            for rel, data in expected.items():
                member = f"publisher/_site/{folder}/{rel}"
                assert member in names, f"{member} missing from {wheel.name}"
                assert archive.read(member) == data
        assert "publisher/_resources.py" in names
        assert any(n.startswith("publisher/schemas/") and n.endswith(".json") for n in names)


def test_the_wheel_carries_the_recorded_demo_days_with_their_licence(wheel):
    """`milkbot demo` replays the sample in daemon/data/replay: every file of it, the MIT notice included."""
    root = REPO / "daemon" / "data" / "replay"
    expected = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert {"LICENSE-kalshi-data.txt", "kalshi/kxhigh_trades.parquet", "kalshi/kxhigh_markets.parquet",
            "kalshi/kxhigh_settlements.csv"} <= set(expected)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for rel, data in expected.items():
            member = f"daemon/data/replay/{rel}"
            assert member in names, f"{member} missing from {wheel.name}"
            assert archive.read(member) == data


def test_an_installed_wheel_renders_without_the_source_tree(wheel, tmp_path):
    site = tmp_path / "site-packages"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    probe = (
        "import publisher, publisher._resources as r, publisher.render as render\n"
        "print(publisher.__file__)\n"
        "print(r.templates_dir())\n"
        "print(r.assets_dir())\n"
        "render.environment().get_template('index.html')\n"
        "assert (r.assets_dir() / 'site.css').is_file()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    # cwd outside the repo: nothing may be found relative to the working directory either
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    module, templates, assets = done.stdout.splitlines()
    assert Path(module).is_relative_to(site)
    assert Path(templates) == site / "publisher" / "_site" / "site_templates"
    assert Path(assets) == site / "publisher" / "_site" / "site_assets"


def test_the_lookup_prefers_the_installed_copy_and_refuses_when_both_are_missing(monkeypatch, tmp_path):
    from publisher import _resources

    installed = tmp_path / "publisher"
    (installed / "_site" / "site_templates").mkdir(parents=True)
    monkeypatch.setattr(_resources, "_package_root", lambda: installed)
    assert _resources.templates_dir() == installed / "_site" / "site_templates"
    assert _resources.assets_dir() == REPO / "site_assets"  # not installed there: falls back to the repo
    monkeypatch.setattr(_resources, "_REPO", tmp_path / "nowhere")
    with pytest.raises(_resources.ResourceError, match="site_assets"):
        _resources.assets_dir()
    with pytest.raises(ValueError):
        _resources.site_dir("../etc")
