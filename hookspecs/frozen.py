"""Read-only data that the host hands to several plugins at once.

One object reaches every listener of a hook (``on_action``'s ``Action.params``,
``on_state_change``'s ``details``), and DTMS journals the very ``params`` it planned: a
plugin that edited them in place changed what every later listener saw, and what DTMS
saved as done (a stop it never set, in its journal, its action history and its export).
So what is shared is read-only, all the way down.

:class:`FrozenDict` is a ``dict`` that refuses every change, rather than a
``types.MappingProxyType``: it is still a ``dict`` to ``json``, ``orjson``, ``pickle``
(the ``--jobs`` workers), ``copy.deepcopy`` (a plugin object copied for each run) and
``isinstance(x, dict)``, none of which accept a mapping proxy, and its ``repr`` is the
dict's, so log lines read as before. A plugin that wants to change one makes its own:
``dict(params)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn


def _refuse(self: object, *args: object, **kwargs: object) -> NoReturn:
    copy = "dict(...)" if isinstance(self, dict) else "list(...)"
    raise TypeError(
        f"this {type(self).__name__} is read-only: the host shares it with every plugin; "
        f"copy it ({copy}) to change it"
    )


class FrozenDict(dict[str, Any]):
    """A ``dict`` that cannot be changed, whose values cannot be either (:func:`freeze`).

    Equal to a dict with the same items, hashable when its values are, and serialised as
    a plain JSON object. Built from any mapping (or pairs, or keywords), as ``dict`` is.
    """

    __slots__ = ()

    def __new__(cls, *args: Mapping[str, Any] | Iterable[tuple[str, Any]], **kwargs: Any) -> Any:
        self = super().__new__(cls)
        given = args[0] if len(args) == 1 and not kwargs else dict(*args, **kwargs)
        if type(given) is not dict and not isinstance(given, Mapping):
            given = dict(given)  # pairs
        items = given.items()
        atoms = _ATOMS  # most values are numbers and text: no call for them
        dict.update(self, {k: v if type(v) in atoms else freeze(v) for k, v in items})
        return self

    def __init__(self, *args: object, **kwargs: object) -> None:
        """Filled in ``__new__``: calling ``__init__`` again must not refill it (``dict``'s
        would add the items it is given)."""

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __reduce__(self) -> tuple[type[FrozenDict], tuple[dict[str, Any]]]:
        """Pickled and deep-copied as its items: ``dict``'s way sets them one by one."""
        return (FrozenDict, (dict(self),))

    def __copy__(self) -> FrozenDict:
        return self  # it cannot change: a copy would be the same

    @classmethod
    def fromkeys(cls, keys: Iterable[str], value: Any = None) -> FrozenDict:  # type: ignore[override]
        return cls(dict.fromkeys(keys, value))


class FrozenList(list[Any]):
    """A ``list`` that cannot be changed, nor its items (:func:`freeze`): equal to a list
    with the same items (a tuple would not be), serialised as a JSON array."""

    __slots__ = ()

    def __new__(cls, items: Iterable[Any] = ()) -> Any:
        self = super().__new__(cls)
        atoms = _ATOMS
        list.extend(self, [v if type(v) in atoms else freeze(v) for v in items])
        return self

    def __init__(self, items: Iterable[Any] = ()) -> None:
        """Filled in ``__new__``: ``list``'s ``__init__`` would empty it and refill it."""

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = clear = extend = insert = pop = remove = reverse = sort = _refuse

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self))

    def __reduce__(self) -> tuple[type[FrozenList], tuple[list[Any]]]:
        return (FrozenList, (list(self),))

    def __copy__(self) -> FrozenList:
        return self


def freeze(value: Any) -> Any:
    """``value`` read-only all the way down: a mapping becomes a :class:`FrozenDict`, a list
    a :class:`FrozenList`, a set a frozenset, a tuple a tuple, each of their items frozen
    too; anything else (numbers, text, frozen dataclasses, a plugin's own objects) is
    returned as it is. What is frozen already is returned as it is, without a copy."""
    kind = type(value)
    if kind in _ATOMS or kind is FrozenDict or kind is FrozenList:
        return value
    if kind is dict or isinstance(value, Mapping):
        return FrozenDict(value)
    if kind is list:
        return FrozenList(value)
    if kind is tuple:
        return tuple(freeze(item) for item in value)
    if isinstance(value, tuple) and hasattr(kind, "_make"):  # a named tuple keeps its type
        return kind._make(freeze(item) for item in value)
    if kind is set or kind is frozenset:
        return frozenset(freeze(item) for item in value)
    return value


def unshared(value: Any) -> Any:
    """An equal, read-only copy of ``value`` that shares no dict or list with it, nor a
    dataclass holding one (:class:`~hookspecs.Action`, with its ``params``); numbers, text
    and what holds no container are shared, as they cannot change.

    Why, when :func:`freeze` already refuses changes: a :class:`FrozenDict` is a ``dict``,
    so ``dict.__setitem__(params, ...)``, ``list.append(...)`` and, on the dataclass that
    holds them, ``object.__setattr__`` still change it in place, and every other holder
    of the same object saw that. The host gives each listener of a hook whose argument
    holds a mapping its own copy (hostapp.pluginhost), so what one does to its copy,
    whichever way, no one else sees. A data type of the contract is copied field by
    field, without its checks again (what is copied passed them); a plugin's own objects
    are shared, as :func:`freeze` leaves them."""
    kind = type(value)
    atoms = _ATOMS
    if kind in atoms or kind in _KEPT:
        return value
    names = _FIELDS.get(kind)
    if names is not None:  # a data type of the contract (a hook's hot path: no call per atom)
        copy = object.__new__(kind)
        put, kept = object.__setattr__, _KEPT
        for name in names:
            v = getattr(value, name)
            put(copy, name, v if type(v) in atoms or type(v) in kept else unshared(v))
        return copy
    if kind is FrozenDict or kind is dict or isinstance(value, Mapping):
        mapping = dict.__new__(FrozenDict)
        dict.update(mapping, {k: v if type(v) in atoms else unshared(v) for k, v in value.items()})
        return mapping
    if kind is FrozenList or kind is list:
        items = list.__new__(FrozenList)
        list.extend(items, [v if type(v) in atoms else unshared(v) for v in value])
        return items
    if kind is tuple:
        return tuple(unshared(v) for v in value)
    if isinstance(value, tuple) and hasattr(kind, "_make"):  # a named tuple keeps its type
        return kind._make(unshared(v) for v in value)
    if kind.__module__.partition(".")[0] == _CONTRACT and dataclasses.is_dataclass(value):
        _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(value))
        return unshared(value)
    frozen = freeze(value)  # a set as a frozenset; anything else as it is
    if frozen is value:
        _KEPT.add(kind)  # an enum, a datetime: no need to ask again
    return frozen


#: The package of the contract's data types, which :func:`unshared` copies.
_CONTRACT = __name__.partition(".")[0]
#: The fields of each data type :func:`unshared` copied, by class.
_FIELDS: dict[type, tuple[str, ...]] = {}
#: The classes :func:`unshared` returns as they are: neither containers nor data types.
_KEPT: set[type] = set()


#: the values :func:`freeze` returns at once (the common case: params and score numbers)
_ATOMS = frozenset({int, float, str, bool, type(None)})
