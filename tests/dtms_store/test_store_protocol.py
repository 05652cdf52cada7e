"""The diskcache Store is a StoreProtocol (mypy checks the signatures in
protocol.py; this checks it at run time),
and the protocol names every public method of it, so a backend cannot miss one."""

from __future__ import annotations

import inspect
from pathlib import Path

from dtms_plugin.store import Store, StoreProtocol


def test_diskcache_store_implements_the_protocol(tmp_path: Path) -> None:
    with Store(tmp_path / "dtms") as store:
        assert isinstance(store, StoreProtocol)


def test_protocol_covers_every_public_method_of_store() -> None:
    public = {n for n, v in inspect.getmembers(Store, inspect.isfunction) if not n.startswith("_")}
    declared = {n for n in dir(StoreProtocol) if not n.startswith("_")}
    assert public <= declared, public - declared
