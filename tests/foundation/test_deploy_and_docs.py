"""What the deploy units run and what the README and runbook tell an operator to type exists, with those options.

Every `Exec…=` line of every unit in deploy/ is parsed with the real CLI (typer's Click command, the same
resolution `milkbot` does, without running anything): `milkbot …` against the daemon's app, `python -m
publisher …` against the publisher's. Every `milkbot …` the README and runbook name resolves to a command that
accepts the options shown, and every `MILKBOT_…` variable they name maps to a real setting.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main
from pydantic import BaseModel

from daemon.cli.main import app as milkbot_app
from daemon.config import _NOT_SETTINGS, _TOP_LEVEL_ENV, Settings
from publisher.cli import app as publisher_app

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DOCS = [REPO / "README.md", DEPLOY / "RUNBOOK.md"]
UNITS = sorted(DEPLOY.glob("*.service"))
_EXEC = re.compile(r"^(Exec[A-Za-z]+)=(.*)$")
# Placeholders the docs use for values; any other upper-case word or <word> is a placeholder too (value "1").
_PLACEHOLDER_VALUES = {"D": "2024-01-01"}


def _click(app: typer.Typer) -> Any:
    return typer.main.get_command(app)


def resolve(app: typer.Typer, prog: str, argv: list[str]) -> list[str]:
    """Parse `argv` exactly as the CLI would (options checked, no callback run); the command path it names.
    Raises the CLI's own usage error when a command or option does not exist."""
    ctx = _click(app).make_context(prog, list(argv))
    path = [prog]
    while hasattr(ctx.command, "resolve_command"):
        rest = list(getattr(ctx, "_protected_args", None) or getattr(ctx, "protected_args", [])) + list(ctx.args)
        if not rest:
            break
        name, sub, rest = ctx.command.resolve_command(ctx, rest)
        ctx = sub.make_context(name, rest, parent=ctx)
        path.append(name)
    return path


# -- systemd units ----------------------------------------------------------------------------------------
def exec_lines(unit: Path) -> list[tuple[str, list[str]]]:
    out = []
    for raw in unit.read_text().splitlines():
        match = _EXEC.match(raw.strip())
        if match:
            argv = shlex.split(match.group(2))
            argv[0] = argv[0].lstrip("-@+!:")  # systemd's prefixes: ignore failure, privileged, ...
            out.append((match.group(1), argv))
    return out


def _unit_command(argv: list[str]) -> tuple[typer.Typer, str, list[str]]:
    exe = Path(argv[0]).name
    if exe == "milkbot":
        return milkbot_app, "milkbot", argv[1:]
    if re.fullmatch(r"python3?(\.\d+)?", exe) and argv[1:3] == ["-m", "publisher"]:
        return publisher_app, "python -m publisher", argv[3:]
    raise AssertionError(f"{argv}: a unit may run only milkbot or python -m publisher")


def test_there_are_units_to_check():
    names = {u.name for u in UNITS}
    assert {"milkbot-daemon.service", "milkbot-publisher.service"} <= names
    assert all(exec_lines(u) for u in UNITS)


@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_every_unit_command_exists_with_its_options(unit):
    for key, argv in exec_lines(unit):
        app, prog, args = _unit_command(argv)
        try:
            resolve(app, prog, args)
        except Exception as exc:  # noqa: BLE001 - the CLI's usage error, reported with the unit line
            raise AssertionError(f"{unit.name} {key}={' '.join(argv)}: {exc}") from None


def test_the_publisher_unit_publishes_without_the_daemon_settings():
    """The publisher user has only publisher.env: the unit runs the stand-alone publisher, never the daemon."""
    [(_, argv)] = [line for line in exec_lines(DEPLOY / "milkbot-publisher.service") if line[0] == "ExecStart"]
    app, _, _ = _unit_command(argv)
    assert app is publisher_app


def test_every_timer_starts_an_existing_service():
    for timer in DEPLOY.glob("*.timer"):
        unit = re.search(r"^Unit=(.+)$", timer.read_text(), re.MULTILINE)
        service = unit.group(1).strip() if unit else timer.name.replace(".timer", ".service")
        assert (DEPLOY / service).exists(), f"{timer.name} starts {service}, which is not in deploy/"


def test_a_missing_command_is_caught():
    """The check itself: the publisher unit's old `milkbot publish run` and an unknown option both fail."""
    with pytest.raises(Exception, match="run"):
        resolve(milkbot_app, "milkbot", ["publish", "run"])
    with pytest.raises(Exception, match="--bogus"):
        resolve(milkbot_app, "milkbot", ["run", "--bogus"])
    with pytest.raises(Exception, match="nosuch"):
        resolve(milkbot_app, "milkbot", ["nosuch"])


# -- the docs ---------------------------------------------------------------------------------------------
def doc_commands(text: str) -> list[str]:
    """`milkbot …` as the docs show it: inside backticks (may wrap a line) and on lines of code blocks."""
    found = []
    for span in re.findall(r"`([^`\n]+(?:\n[^`\n]+)?)`", text):
        words = span.split()
        while words and re.fullmatch(r"[A-Z][A-Z0-9_]*=\S*", words[0]):
            words = words[1:]  # leading VAR=value assignments
        if len(words) > 1 and words[0] == "milkbot":
            found.append(" ".join(words))
    in_block = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_block = not in_block
        elif in_block and line.startswith("milkbot "):
            found.append(re.split(r"\s#\s", line, maxsplit=1)[0].strip())
    return found


def _split_top(text: str, sep: str) -> list[str]:
    """Split on `sep` outside [brackets]."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "["
        depth -= ch == "]"
        if ch == sep and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [*parts, current]


def _concrete(words: str) -> list[str]:
    """A doc fragment as argv: optional parts included ([--to D] → --to D), the first of a|b inside brackets,
    placeholders replaced by a value."""
    words = re.sub(r"\[([^\]]*)\]", lambda m: m.group(1).split("|")[0], words)
    argv = []
    for word in words.split():
        if re.fullmatch(r"[A-Z][A-Z0-9_]*|<[^>]+>", word):
            word = _PLACEHOLDER_VALUES.get(word, "1")
        argv.append(word)
    return argv


def doc_argvs(command: str) -> list[list[str]]:
    """`milkbot orders list|show ID|cancel ID|--all` → [orders list], [orders show 1], [orders cancel 1],
    [orders cancel --all]: '|' separates alternatives at one level; an option-only alternative belongs to the
    previous command; `a | milkbot b` is two commands."""
    argvs: list[list[str]] = []
    previous: list[str] = []      # command path of the previous alternative (without 'milkbot')
    for alt in (a.strip() for a in _split_top(command, "|")):
        argv = _concrete(alt)
        if argv and argv[0] == "milkbot":
            argv = argv[1:]
        elif argv and argv[0].startswith("-") and previous:
            argv = previous + argv
        elif previous:
            argv = previous[:-1] + argv  # a sibling of the previous command
        path = resolve(milkbot_app, "milkbot", argv)[1:]
        previous = path
        argvs.append(argv)
    return argvs


def _doc_ids() -> list[tuple[str, str]]:
    return [(doc.name, cmd) for doc in DOCS for cmd in doc_commands(doc.read_text())]


def test_the_docs_name_commands():
    names = {doc for doc, _ in _doc_ids()}
    assert names == {"README.md", "RUNBOOK.md"} and len(_doc_ids()) > 30


@pytest.mark.parametrize(("doc", "command"), _doc_ids(), ids=[f"{d}:{c}" for d, c in _doc_ids()])
def test_every_milkbot_command_in_the_docs_exists(doc, command):
    try:
        doc_argvs(command)
    except Exception as exc:  # noqa: BLE001 - the CLI's usage error, reported with the doc line
        raise AssertionError(f"{doc}: `{command}`: {exc}") from None


def doc_env_vars(text: str) -> set[str]:
    """Every MILKBOT_… variable named, with `__FIELD` shorthands expanded from the last full name on the line."""
    found: set[str] = set()
    for line in text.splitlines():
        section = None
        for match in re.finditer(r"MILKBOT_[A-Z0-9_]*[A-Z0-9]|`__([A-Z0-9_]+)`", line):
            if match.group(1):
                assert section, f"shorthand `__{match.group(1)}` with no MILKBOT_<SECTION>__ before it: {line}"
                found.add(f"{section}__{match.group(1)}")
                continue
            name = match.group(0)
            found.add(name)
            if "__" in name:
                section = name.split("__", 1)[0]
    return found


def setting_for(var: str) -> str | None:
    """The Settings field a MILKBOT_ variable sets (as `load_settings` maps it), None if it is not a setting
    it knows; variables that are deliberately not settings map to themselves."""
    if var in _NOT_SETTINGS:
        return var
    name = var.removeprefix("MILKBOT_")
    if name in _TOP_LEVEL_ENV:
        return _TOP_LEVEL_ENV[name]
    if "__" not in name:
        return None
    section, field = name.lower().split("__", 1)
    model = Settings.model_fields.get(section)
    if model is None or not (isinstance(model.annotation, type) and issubclass(model.annotation, BaseModel)):
        return None
    return f"{section}.{field}" if field in model.annotation.model_fields else None


def test_the_docs_name_variables():
    assert len(set().union(*(doc_env_vars(d.read_text()) for d in DOCS))) > 15


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_every_environment_variable_in_the_docs_is_a_setting(doc):
    # Patterns such as `MILKBOT_…` and MILKBOT_<SECTION>__<FIELD> do not match the name pattern at all.
    unknown = sorted(v for v in doc_env_vars(doc.read_text()) if setting_for(v) is None)
    assert unknown == [], f"{doc.name} names variables no setting reads: {unknown}"


def test_the_variable_check_catches_a_wrong_name():
    assert setting_for("MILKBOT_EXCHANGE__PRIVATE_KEY_FILE") is None
    assert setting_for("MILKBOT_EXCHANGE__PRIVATE_KEY_PATH") == "exchange.private_key_path"
    assert setting_for("MILKBOT_PUBLISHER_DATABASE_URL") == "MILKBOT_PUBLISHER_DATABASE_URL"
