"""Keys of a request body that its route does not know: ignored, unless they look like
one it does.

Why both: clients written for the original DTMS send fields this server does not know,
and they must keep working (docs/client.md, "Over plain HTTP"), so an unknown key is
ignored, and named in the answer's ``ignored`` so a client can see it was. But a key that
is a misspelling of a known field (``proft``, ``stoploss``, ``StopLoss``) lost the value
it carried without a word: a close stored with a profit of 0, a trade kept without its
stop. Such a key is a 400 naming it and the field it looks like.

"Looks like": the same letters once ASCII case and the separators ``_``, ``-`` and
spaces are set aside (``Stop-Loss`` is ``stop_loss``), or, so set aside, at most one
edit (a letter added, dropped, changed, or two neighbours swapped) away from a name of
4 to 7 letters, two from a longer one. A name of 3 letters or fewer (``sl``, ``tp``)
matches only in the first way: one edit from it is any other short word.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .coerce import FieldError, key_name

_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz", "_- ")


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


def looks_like(key: str, known: Iterable[str]) -> str | None:
    """The known name ``key`` looks like (the closest; the first of equals), or None."""
    found, best = None, None
    key_folded = folded(key)
    for name in known:
        limit = edits_allowed(name)
        edits = distance(key_folded, folded(name), limit)
        if edits <= limit and (best is None or edits < best):
            found, best = name, edits
    return found


def refuse_look_alikes(body: Mapping[str, Any], known: tuple[str, ...]) -> None:
    """A 400 naming the first key of ``body`` that is not one of ``known`` but looks
    like one, and the one it looks like."""
    names = frozenset(known)
    for key in body:
        if key in names:
            continue
        like = looks_like(key, known)
        if like is not None:
            raise FieldError(
                key_name(key),
                f"unknown key, too like {like!r} to be ignored (its value would be lost):"
                f" send it as {like}",
            )


def ignored_keys(body: object, known: tuple[str, ...]) -> list[str]:
    """The keys of ``body`` that are not ``known``, in the order sent: what the answer's
    ``ignored`` lists (a body that is no object has none)."""
    if not isinstance(body, Mapping):
        return []
    names = frozenset(known)
    return [key_name(key) for key in body if key not in names]


def with_ignored(answer: dict[str, Any], ignored: list[str]) -> dict[str, Any]:
    """``answer`` with ``ignored`` when some keys were (absent otherwise, so the answers
    of a client that sends only known keys are as they were)."""
    return {**answer, "ignored": ignored} if ignored else answer
