"""What the host hands to several plugins is read-only all the way down (hookspecs.frozen):
``Action.params`` above all, which DTMS journals and every ``on_action`` listener receives.
A plugin that set ``action.params["stop_loss"] = 1.0`` put that stop in DTMS's journal,
action history and export. Read-only, it still serialises, pickles, copies, compares and
prints as the dict it was."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import orjson
import pytest

from hookspecs import Action, ActionKind, DataError, FrozenDict, FrozenList, freeze


def _action(params: Any) -> Action:
    return Action(7, ActionKind.TIGHTEN_SL, params, "why", "7:1:trail", "dtms")


def test_an_actions_params_cannot_be_edited_by_whoever_holds_it() -> None:
    planned = {"stop_loss": 1990.5}
    action = _action(planned)
    with pytest.raises(TypeError, match="read-only"):
        action.params["stop_loss"] = 1.0  # type: ignore[index]
    for edit in ("clear", "popitem"):
        with pytest.raises(TypeError):
            getattr(action.params, edit)()
    with pytest.raises(TypeError):
        action.params.update(stop_loss=1.0)  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        action.params.pop("stop_loss")  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        del action.params["stop_loss"]  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        action.params |= {"stop_loss": 1.0}  # type: ignore[misc,operator]
    action.params.__init__(stop_loss=1.0)  # type: ignore[misc]  # dict's would refill it
    assert action.params == {"stop_loss": 1990.5}


def test_the_params_are_a_copy_of_what_the_planner_passed() -> None:
    planned = {"stop_loss": 1990.5}
    action = _action(planned)
    planned["stop_loss"] = 1.0  # the planner's own dict stays its own
    assert action.params == {"stop_loss": 1990.5}
    again = _action(action.params)
    assert again.params is action.params  # frozen already: shared, not copied again


def test_nested_values_are_read_only_too() -> None:
    action = _action({"volume": 0.1, "legs": [{"ticket": 3}], "tags": {"a"}, "pair": (1, [2])})
    with pytest.raises(TypeError):
        action.params["legs"].append({"ticket": 4})
    with pytest.raises(TypeError):
        action.params["legs"][0]["ticket"] = 4
    with pytest.raises(TypeError):
        action.params["pair"][1].append(3)
    assert isinstance(action.params["tags"], frozenset)
    legs = action.params["legs"]
    legs.__init__([])  # type: ignore[misc]  # list's would empty it
    assert legs == [{"ticket": 3}]


def test_they_serialise_compare_hash_and_print_as_the_dict_they_were() -> None:
    plain = {"stop_loss": 1990.5, "legs": [1, 2], "more": {"x": None}}
    action = _action(plain)
    assert action.params == plain and action == _action(dict(plain))
    assert isinstance(action.params, dict) and isinstance(action.params["legs"], list)
    assert json.loads(json.dumps(action.params)) == plain
    assert orjson.loads(orjson.dumps(action.params)) == plain
    assert repr(action.params) == repr(plain)  # so log lines read as before
    assert f"{action!r}".count("params={'stop_loss': 1990.5") == 1
    assert hash(action) == hash(_action(dict(plain)))  # an action can be a set member
    assert dict(action.params) == plain and {**action.params} == plain
    mine = dict(action.params)
    mine["stop_loss"] = 1.0  # a copy is the plugin's to change
    assert action.params["stop_loss"] == 1990.5


def test_they_pickle_and_copy_as_themselves() -> None:
    action = _action({"stop_loss": 1990.5, "legs": [{"ticket": 3}]})
    for back in (pickle.loads(pickle.dumps(action, -1)), copy.deepcopy(action)):
        assert back == action
        assert type(back.params) is FrozenDict and type(back.params["legs"]) is FrozenList
        with pytest.raises(TypeError):
            back.params["stop_loss"] = 1.0  # type: ignore[index]
    assert copy.copy(action.params) is action.params


def test_params_that_are_no_mapping_are_refused_naming_the_field() -> None:
    with pytest.raises(DataError, match="params"):
        _action([("stop_loss", 1.0)])
    assert _action({}).params == {} and Action(1, ActionKind.CLOSE, key="k").params == {}


def test_freeze_leaves_alone_what_cannot_change() -> None:
    frozen = freeze({"a": 1})
    assert freeze(frozen) is frozen
    for atom in (1, 1.5, "x", None, True):
        assert freeze(atom) is atom
    assert freeze([1, [2]]) == [1, [2]] and type(freeze((1,))) is tuple
    assert FrozenDict.fromkeys(["a"], 0) == {"a": 0}


def test_a_named_tuple_keeps_its_type_and_its_lists_are_frozen() -> None:
    from typing import NamedTuple

    from hookspecs.frozen import freeze

    class Point(NamedTuple):
        a: list[int]
        b: int

    frozen = freeze({"p": Point([1], 2)})
    assert type(frozen["p"]) is Point and frozen["p"] == Point([1], 2)
    with pytest.raises(TypeError):
        frozen["p"].a.append(3)


def test_unshared_is_an_equal_copy_with_no_container_in_common() -> None:
    """What each listener of on_action and on_state_change gets: gone around the
    read-only (``dict.__setitem__``, ``list.append``, ``object.__setattr__``), its copy
    changes alone."""
    from hookspecs.frozen import unshared

    action = _action({"stop_loss": 1990.5, "legs": [{"ticket": 3}], "pair": (1, [2])})
    copy_ = unshared(action)
    assert copy_ == action and copy_ is not action and type(copy_.params) is FrozenDict
    dict.__setitem__(copy_.params, "stop_loss", 1.0)
    dict.__setitem__(copy_.params["legs"][0], "ticket", 4)
    list.append(copy_.params["pair"][1], 3)
    object.__setattr__(copy_, "reason", "changed")
    assert action == _action({"stop_loss": 1990.5, "legs": [{"ticket": 3}], "pair": (1, [2])})
    plain = {"total": -0.7, "weights": [0.5], "tags": {"a"}}
    details = unshared(plain)
    assert details == {"total": -0.7, "weights": [0.5], "tags": frozenset({"a"})}
    assert type(details) is FrozenDict and type(details["weights"]) is FrozenList
    assert details["weights"] is not plain["weights"]
    for atom in (1, 1.5, "x", None, True):
        assert unshared(atom) is atom
