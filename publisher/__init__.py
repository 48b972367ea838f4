"""Milkbot's publisher: reads only the delayed, sanitised `analytics` functions and builds the static site.

It must never import `daemon` and must run with no trading credential in its environment.

Layout: `db` (its own read-only connection) → `queries` (analytics as of the cut-off, embargo re-checked) →
`tally` + `feeds` (numbers and feed models, `models`) → `charts`, `render`/`rows`, `archive` (pages) →
`build` (one deterministic folder) → `targets` (local / r2 / pages) via `publish`. `clock` is the only place
that may read the wall clock; `cli` is the stand-alone command (`python -m publisher`).
"""
