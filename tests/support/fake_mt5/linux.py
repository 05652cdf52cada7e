"""A stand-in for the ``mt5linux`` package over a :class:`~.terminal.FakeMT5`.

``mt5linux.MetaTrader5(host, port)`` is a proxy over ONE rpyc connection to the bridge
(``python -m mt5linux`` under Wine), kept in its private ``__conn``. rpyc never reopens a
closed connection: once the bridge restarts or the TCP link resets, every call on that
client raises ``EOFError("stream has been closed")`` for good, and only a new client, over
a new connection, works again, once the bridge is back. While the bridge is down, building
a client fails as connecting to a port nobody listens on does (``ConnectionRefusedError``).
An answer can be lost after the terminal carried the call out (:meth:`Bridge.lose_next`):
the connection dies meanwhile, or rpyc stops waiting (its ``sync_request_timeout``; its
``AsyncResultTimeout`` is Python's TimeoutError) and the connection stays usable.
"""

from __future__ import annotations

import types
from typing import Any

from .terminal import FakeMT5


class RpycConnection:
    """What the adapter may touch of an rpyc connection: its ``_config``, ``close()``."""

    def __init__(self) -> None:
        self._config: dict[str, Any] = {"sync_request_timeout": 30}
        self.closed = False

    def close(self) -> None:
        self.closed = True


class Bridge:
    """The Wine-side server: its clients' connections, and whether it listens."""

    def __init__(self) -> None:
        self.up = True
        self.connections: list[RpycConnection] = []
        #: calls whose next answer is lost after the terminal carried them out
        self.losing: dict[str, bool] = {}

    def lose_next(self, name: str, *, drop: bool) -> None:
        """The next call of ``name`` reaches the terminal, which carries it out; its answer
        never comes back. ``drop``: the connection died meanwhile (the bridge restarted,
        back at once: a new client works); else rpyc's call timeout expired."""
        self.losing[name] = drop

    def drop(self) -> None:
        """The bridge stops (or the link resets): every connection is closed for good,
        and no new one is accepted until :meth:`start`."""
        self.up = False
        for conn in self.connections:
            conn.closed = True

    def start(self) -> None:
        self.up = True


def mt5linux_module(fake: FakeMT5) -> types.ModuleType:
    """The ``mt5linux`` package whose clients reach ``fake`` (each records ``connect
    host:port`` in ``fake.calls``); ``module.bridge`` is their :class:`Bridge`."""
    module = types.ModuleType("mt5linux")
    bridge = Bridge()

    class MetaTrader5:
        def __init__(self, host: str = "localhost", port: int = 18812) -> None:
            if not bridge.up:
                raise ConnectionRefusedError(111, "Connection refused")
            fake.calls.append(f"connect {host}:{port}")
            conn = RpycConnection()
            bridge.connections.append(conn)
            # mt5linux keeps its rpyc connection here; rpyc's call timeout defaults to 30 s
            self._MetaTrader5__conn = conn

        def __getattr__(self, name: str) -> Any:
            target = getattr(fake, name)
            if not callable(target):
                return target  # the constants: instance attributes of the client

            def call(*args: Any, **kwargs: Any) -> Any:
                if self._MetaTrader5__conn.closed:
                    raise EOFError("stream has been closed")
                answer = target(*args, **kwargs)
                if name not in bridge.losing:
                    return answer
                if bridge.losing.pop(name):
                    bridge.drop()
                    bridge.start()
                    raise EOFError("connection closed by peer")
                raise TimeoutError("result expired")

            return call

    module.MetaTrader5 = MetaTrader5  # type: ignore[attr-defined]
    module.bridge = bridge  # type: ignore[attr-defined]
    return module
