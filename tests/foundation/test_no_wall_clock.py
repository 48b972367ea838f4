"""Injected time: no logic reads the wall clock except daemon/clock.py."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ALLOWED = {REPO / "daemon" / "clock.py", REPO / "publisher" / "clock.py"}
FORBIDDEN = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
             ("time", "time"), ("time", "time_ns"), ("time", "monotonic"), ("time", "sleep"), ("time", "perf_counter")}


def wall_clock_calls(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
            if (name, node.func.attr) in FORBIDDEN:
                found.append(f"{path.relative_to(REPO)}:{node.lineno} {name}.{node.func.attr}()")
    return found


def test_packages_take_time_only_from_the_clock():
    offenders = []
    for package in ("daemon", "publisher"):
        for path in sorted((REPO / package).rglob("*.py")):
            if path not in ALLOWED:
                offenders += wall_clock_calls(path)
    assert offenders == []


def test_the_scanner_finds_a_call(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text("import datetime\nstamp = datetime.datetime.now()\nimport time\ntime.time()\n")
    global REPO
    saved, REPO = REPO, tmp_path
    try:
        assert len(wall_clock_calls(sample)) == 2
    finally:
        REPO = saved
