"""Keys of a request body that its route does not know: ignored, unless one looks like a
field whose loss would change money or risk and that the body does not carry.

Why both: clients written for the original DTMS send fields this server does not know
(``ticker`` beside ``symbol``, ``take_profit_2``, ``comments``, a position's ``Magic``),
and they must keep working (docs/client.md, "Over plain HTTP"), so an unknown key is
ignored, and named in the answer's ``ignored`` so a client can see it was. But a key that
is a misspelling of an optional field whose silent loss changes money or risk
(``proft``: a close stored with a profit of 0; ``stoploss``: a trade kept without its
stop) lost the value it carried without a word. Such a key is a 400 naming it and the
field it looks like, when, and only when, the body carries that field under none of its
names: ``stopLoss`` beside ``stop_loss`` is a client's second copy, ignored. A required
field needs no guard (misspelt, it is missing: a 400 already), nor does one whose loss
changes a label only (a close's ``reason``).

"Looks like": the same letters once ASCII case and the separators ``_``, ``-`` and
spaces are set aside (``Stop-Loss`` is ``stop_loss``), or, so set aside, at most one
edit (a letter added, dropped, changed, or two neighbours swapped) away from a name of
4 to 7 letters, two from a longer one. A name of 3 letters or fewer (``sl``, ``tp``)
matches only in the first way: one edit from it is any other short word. Never a look-alike:
a key ending in a digit (``take_profit_1``, ``stop_loss_2``: a second level, not a
typo), nor a name with two or more letters added before or after it
(``unrealised_profit``, ``reopened_at``: another word).

The cost is bounded whatever the body: the guarded names are folded once, here; a key
is folded once and compared only with the names its folded length is near; and only
the first :data:`MAX_EXAMINED` unknown keys are compared letter by letter (every key is
still checked for the first way, a lookup). The answer lists the first
:data:`MAX_LISTED` unknown keys in ``ignored`` and counts them all in ``ignored_count``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .coerce import FieldError, key_name

_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz", "_- ")

#: the unknown keys an answer lists in ``ignored`` (``ignored_count`` counts them all)
MAX_LISTED = 50
#: the unknown keys compared letter by letter with the guarded names (the rest only
#: by their folded letters): a body of thousands of keys costs no more than one of 200
MAX_EXAMINED = 200


def folded(name: str) -> str:
    """``name`` in ASCII lower case without ``_``, ``-`` or spaces."""
    return name.translate(_FOLD)


def edits_allowed(name: str) -> int:
    """How many edits away from the known ``name`` a key still looks like it."""
    letters = len(folded(name))
    return 0 if letters <= 3 else 1 if letters <= 7 else 2


def distance(a: str, b: str, limit: int) -> int:
    """The edits (insert, delete, change, swap of neighbours) from ``a`` to ``b``, or
    ``limit + 1`` as soon as it is known to be more than ``limit`` (a key can be as long
    as the body: it is never compared in full)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] | None = None
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + cost)
            swapped = j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]
            if before is not None and swapped:  # two neighbours swapped
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, row = row, current
    return min(row[-1], limit + 1)


@dataclass(frozen=True, slots=True)
class _Name:
    name: str  # as the route reads it
    folded: str
    limit: int  # edits allowed


@dataclass(frozen=True, slots=True)
class Guarded:
    """The optional fields of a route whose silent loss changes money or risk, each with
    every name it is read under (canonical first), folded once."""

    fields: tuple[tuple[str, ...], ...]
    names: tuple[tuple[_Name, ...], ...]
    #: folded name -> (field index, name): the first way of looking like, a lookup
    exact: dict[str, tuple[int, str]]

    @classmethod
    def of(cls, *fields: tuple[str, ...]) -> Guarded:
        names = tuple(
            tuple(_Name(n, folded(n), edits_allowed(n)) for n in field) for field in fields
        )
        exact = {n.folded: (i, n.name) for i, field in enumerate(names) for n in field}
        return cls(fields, names, exact)


def _is_another_word(key: str, name: str) -> bool:
    """``key`` (folded) is ``name`` with two or more letters added before or after it."""
    return len(key) >= len(name) + 2 and (key.startswith(name) or key.endswith(name))


def looks_like(key: str, guarded: Guarded, absent: frozenset[int] | None = None) -> str | None:
    """The guarded name ``key`` looks like (the closest; the first of equals), among the
    fields ``absent`` (their indexes; every field when None), or None."""
    if key[-1:].isdigit():
        return None
    key_folded = folded(key)
    hit = guarded.exact.get(key_folded)
    if hit is not None:
        return hit[1] if absent is None or hit[0] in absent else None
    return _closest(key_folded, guarded, absent)


def _closest(key: str, guarded: Guarded, absent: frozenset[int] | None) -> str | None:
    found, best = None, None
    for index, field in enumerate(guarded.names):
        if absent is not None and index not in absent:
            continue
        for name in field:
            if not name.limit or abs(len(key) - len(name.folded)) > name.limit:
                continue
            if _is_another_word(key, name.folded):
                continue
            edits = distance(key, name.folded, name.limit)
            if edits <= name.limit and (best is None or edits < best):
                found, best = name.name, edits
    return found


def refuse_look_alikes(body: Mapping[str, Any], known: frozenset[str], guarded: Guarded) -> None:
    """A 400 naming the first key of ``body`` that is not one of ``known`` but looks like a
    name of a ``guarded`` field the body carries under none of its names."""
    absent = frozenset(
        i for i, names in enumerate(guarded.fields) if not any(n in body for n in names)
    )
    if not absent:
        return
    examined = 0
    for key in body:
        if key in known or key[-1:].isdigit():
            continue
        key_folded = folded(key)
        hit = guarded.exact.get(key_folded)
        like = hit[1] if hit is not None and hit[0] in absent else None
        if like is None and hit is None and examined < MAX_EXAMINED:
            examined += 1
            like = _closest(key_folded, guarded, absent)
        if like is not None:
            raise FieldError(
                key_name(key),
                f"unknown key, too like {like!r} to be ignored (its value would be lost):"
                f" send it as {like}",
            )


def with_ignored(answer: dict[str, Any], body: object, known: frozenset[str]) -> dict[str, Any]:
    """``answer`` with the keys of ``body`` that are not ``known``, in the order sent:
    the first :data:`MAX_LISTED` in ``ignored``, and how many there were in
    ``ignored_count``. Both absent when there were none (a body that is no object has
    none), so the answers of a client that sends only known keys are as they were."""
    if not isinstance(body, Mapping):
        return answer
    listed: list[str] = []
    count = 0
    for key in body:
        if key not in known:
            count += 1
            if len(listed) < MAX_LISTED:
                listed.append(key_name(key))
    return {**answer, "ignored": listed, "ignored_count": count} if count else answer
