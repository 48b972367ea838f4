"""Jinja rendering of the pages. Templates live in site_templates/ (found by publisher._resources, so an
installed wheel works too); every page's data is the feed models, so the site and the JSON feeds cannot disagree."""

from __future__ import annotations

from decimal import Decimal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from publisher import fmt
from publisher._resources import templates_dir
from publisher.models import STRATEGY_LABELS
from publisher.rows import table_rows


def _tone(value: str | None) -> str:
    if value is None:
        return "neutral"
    amount = Decimal(value)
    return "positive" if amount > 0 else ("negative" if amount < 0 else "neutral")


def _dollars(value: str | None) -> str:
    return "—" if value is None else fmt.dollars(Decimal(value))


def _strategy(name: str | None) -> str:
    return "Not recorded" if name is None else STRATEGY_LABELS[name]


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates_dir()), autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters.update(tone=_tone, dollars=_dollars, percent=fmt.percent, rows=table_rows, strategy=_strategy)
    return env


class Renderer:
    def __init__(self, common: dict) -> None:
        self._env = environment()
        self._templates: dict = {}
        self.common = common

    def page(self, template: str, root: str, **context: object) -> str:
        if template not in self._templates:
            self._templates[template] = self._env.get_template(template)
        return self._templates[template].render(**self.common, root=root, **context)
