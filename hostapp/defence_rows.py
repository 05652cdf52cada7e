"""What the plugins did to each trade, for its ``trades.csv`` row: the defensive states it
moved into and the actions carried out on it, each with its time.

Why: a run's summary counts states reached and actions by kind, and ``dtms export`` lists
a store's actions, but no output said *when* a trade moved from HEALTHY to WARNING_L1 or
which of its stops were moved: a quant reading an A/B could not line a trade's figures up
with what its defender did. The rows carry it as text a spreadsheet shows and a script
splits: ``WARNING_L1@2024-01-03T10:05:00+00:00 WARNING_L2@…`` (the state entered, at the
host's clock) and ``tighten_sl@… partial_close@…`` (actions the broker carried out; a
failed one is counted in the summary, not here). A position an action opened for a trade
(a hedge, a re-add) counts for that trade (the recorder's ``opened``), as its profit does.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from .outcomes import Outcome


def with_defence(trades: Sequence[Outcome], recorder: Any) -> list[Outcome]:
    """``trades`` with their ``states`` and ``actions`` from ``recorder`` (the run's
    :class:`~hostapp.report.RunRecorder`; a live run's keeps its newest only)."""
    opened: Mapping[int, int | None] = getattr(recorder, "opened", {})

    def owner(ticket: int) -> int:
        seen = {ticket}
        while (parent := opened.get(ticket)) is not None and parent not in seen:
            seen.add(parent)
            ticket = parent
        return ticket

    states = _joined(
        (owner(ticket), new.value, at) for at, ticket, _old, new, _why in recorder.states
    )
    actions = _joined(
        (owner(action.ticket), action.kind.value, at)
        for at, action, result in recorder.actions
        if result.ok
    )
    if not states and not actions:
        return list(trades)
    return [
        dataclasses.replace(t, states=states.get(t.ticket, ""), actions=actions.get(t.ticket, ""))
        for t in trades
    ]


def _joined(items: Iterable[tuple[int, str, datetime]]) -> dict[int, str]:
    out: dict[int, list[str]] = defaultdict(list)
    for ticket, what, at in items:
        out[ticket].append(f"{what}@{at.isoformat()}")
    return {ticket: " ".join(parts) for ticket, parts in out.items()}
