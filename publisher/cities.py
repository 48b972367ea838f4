"""The public city list (display names and order). A test checks it against the daemon's registry.

Cities found in the ledger but missing here are still published, under their code.
"""

from __future__ import annotations

CITIES: tuple[tuple[str, str], ...] = (
    ("NYC", "New York"),
    ("CHI", "Chicago"),
    ("LAX", "Los Angeles"),
    ("MIA", "Miami"),
    ("AUS", "Austin"),
    ("DEN", "Denver"),
    ("PHL", "Philadelphia"),
    ("BOS", "Boston"),
    ("SEA", "Seattle"),
    ("SFO", "San Francisco"),
)


def city_names(extra_codes: set[str] = frozenset()) -> dict[str, str]:
    """code → display name, the shipped cities first, then any other code seen in the data (sorted)."""
    names = dict(CITIES)
    for code in sorted(extra_codes - names.keys()):
        names[code] = code
    return names
