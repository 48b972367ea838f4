"""What the observations have already settled in a ladder: a bracket wholly below the observed maximum so far
can no longer win; an open-ended top bracket already reached has won. Conservative by a 1 °F margin for the
rounding between the observations (0.1 °C T-groups, converted) and the climate report's whole degrees.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import math

from daemon.settlement.brackets import Bracket

MARGIN_F = 1


def verdicts(ladder: dict[str, Bracket], observed_max_f: float | None) -> dict[str, str | None]:
    if observed_max_f is None or not math.isfinite(observed_max_f):
        return {t: None for t in ladder}
    floor_f = math.floor(observed_max_f) - MARGIN_F   # the settled high is at least this
    out: dict[str, str | None] = {}
    for ticker, bracket in ladder.items():
        if bracket.hi is not None and bracket.hi < floor_f:
            out[ticker] = "lost"
        elif bracket.hi is None and bracket.lo is not None and bracket.lo <= floor_f:
            out[ticker] = "won"
        else:
            out[ticker] = None
    return out
