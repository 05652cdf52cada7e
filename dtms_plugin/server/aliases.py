"""The other names a registration field is accepted under, and how two of them sent
together are read (docs/client.md, "Registering"): split from :mod:`.validation`,
which reads every other field."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from .coerce import FieldError

#: Each registration field and the other names it is accepted under, canonical first:
#: ``entry_price`` is the engine's own name; ``open_price``, ``sl``, ``tp`` and ``type``
#: are the names of the original's ``trade_info``, which this server answers with too, so
#: a client may send back what it read (docs/client.md, "Registering"); ``open_time`` and
#: ``time`` carry a position's opening as MetaTrader and the original's clients name it.
ALIASES: dict[str, tuple[str, ...]] = {
    "entry": ("entry", "entry_price", "open_price"),
    "direction": ("direction", "type"),
    "stop_loss": ("stop_loss", "sl"),
    "take_profit": ("take_profit", "tp"),
    "opened_at": ("opened_at", "open_time", "time"),
}


def _same(first: Any, other: Any) -> bool:
    """Whether two names of one field carry one value: times to the second (MetaTrader's
    ``time`` is whole seconds where ``opened_at`` may carry its milliseconds), the rest
    exactly (``"2000.5"`` and ``2000.5``, ``type: 0`` and ``"buy"`` are one value once
    read)."""
    if isinstance(first, datetime) and isinstance(other, datetime):
        return first.replace(microsecond=0) == other.replace(microsecond=0)
    return bool(first == other)


#: the fields whose names are held to each other: two that disagree are a 400 naming both
#: (the side and the fill of a trade are not guessed). For the others (the stop, the
#: target, the opening) the field's own name wins and the alias beside it is named in the
#: answer's ``ignored``: clients written for the original DTMS send a MetaTrader
#: position's dict along with the fields, whose ``sl: 0.0`` means "no stop at the
#: broker" and whose ``time`` is on the broker server's clock (docs/client.md)
_HELD_TOGETHER = frozenset({"direction", "entry"})


def aliased(
    body: Mapping[str, Any],
    field: str,
    parse: Callable[[str], Any],
    overridden: list[str],
) -> Any:
    """The value of ``field`` under the first of its names (:data:`ALIASES`) the client
    used. Every name sent is read, so a malformed one is a 400 naming it. Another name
    carrying a different value is a 400 naming both for :data:`_HELD_TOGETHER`; for the
    rest it loses to the first and goes to ``overridden`` (listed as ignored, never
    silently). A name sent as null beside one with a value is JSON's "no value", not a
    second one. None: under no name."""
    names = [name for name in ALIASES[field] if name in body]
    names = [name for name in names if body[name] is not None] or names
    given = [(name, parse(name)) for name in names]
    if not given:
        return None
    first_name, first = given[0]
    for name, value in given[1:]:
        if _same(first, value):
            continue
        if field in _HELD_TOGETHER:
            raise FieldError(
                name, f"differs from {first_name} ({_shown(value)} != {_shown(first)})"
            )
        overridden.append(name)
    return first


def _shown(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else repr(value)
