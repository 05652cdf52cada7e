"""Fixtures for the observability tests: a DTMS server app with the dashboard on, over the
scripted world, driven by a puppet strategy that moves trades to whatever state a test
scripts (with a score breakdown, an action and a reason, as the real engine would)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import ScriptedStrategy, World, wavy_path

from dtms_plugin.server import ServerSettings, create_app
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store import Store
from hookspecs import Action, ActionKind, DefensiveState, HostView
from hostapp.testing import make_host

Client = TestClient[web.Request, web.Application]
TOKEN = "obs-t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SIGNALS = ("structure", "vwap_volume", "momentum", "ema_alignment", "delta", "candle")


@dataclass
class Move:
    """One scripted transition: the next cycle moves ``ticket`` to ``state``."""

    ticket: int
    state: DefensiveState
    score: float
    action: ActionKind | None = None
    params: dict[str, Any] = field(default_factory=dict)
    price: float | None = None


class Puppet(ScriptedStrategy):
    """Registers like the scripted strategy; each cycle plays the queued :class:`Move`s."""

    name = "puppet"

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.moves: list[Move] = []

    async def on_cycle(self, host: HostView, now: datetime) -> None:
        self.cycles.append(now)
        moves, self.moves = self.moves, []
        for move in moves:
            await self._play(host, now, move)

    async def _play(self, host: HostView, now: datetime, move: Move) -> None:
        record = self.store.get_record(move.ticket)
        assert record is not None, move
        old = DefensiveState(record["state"])
        subs = [round(move.score / 3 + 0.1 * (i - 2), 2) for i in range(len(SIGNALS))]
        reason = f"S={move.score:+.2f} [structure {subs[0]:+.2f}×0.30] scripted"
        seq = int(record.get("seq", 0)) + 1
        record.update(
            state=move.state.value,
            seq=seq,
            state_entered_at=now.isoformat(),
            last_score=move.score,
            last_eval_at=now.isoformat(),
            last_eval_price=move.price if move.price is not None else record["entry_price"],
            r=abs(record["entry_price"] - (record["stop_loss"] or record["entry_price"] - 10)),
            score={
                "total": move.score,
                "subscores": dict(zip(SIGNALS, subs, strict=True)),
                "weights": dict.fromkeys(SIGNALS, round(1 / len(SIGNALS), 2)),
            },
            flat_deadline=(now + timedelta(hours=2)).isoformat()
            if move.state is DefensiveState.WARNING_L1
            else None,
        )
        if move.action is not None:
            key = f"{move.ticket}:{seq}:{move.action.value}"
            action = Action(move.ticket, move.action, dict(move.params), "scripted", key)
            result = await host.execute(action)
            entry = {"key": key, "kind": move.action.value, "params": dict(move.params)}
            entry |= {"status": "done" if result.ok else "failed", "attempts": 1}
            entry |= {"code": result.code.value, "message": result.message}
            entry |= {"at": now.isoformat(), "new_ticket": result.new_ticket}
            record.setdefault("journal", []).append(entry)
            history = {"type": "action", "ticket": move.ticket, "key": key}
            history |= {"kind": move.action.value, "ok": result.ok, "code": result.code.value}
            self.store.append_action(history | {"at": now.isoformat()})
        self.store.put_record(move.ticket, record)
        await host.report_state_change(move.ticket, old, move.state, reason, record["score"])


@dataclass
class Rig:
    client: Client
    world: World
    puppet: Puppet

    @property
    def app(self) -> web.Application:
        return self.client.app

    async def cycle(self) -> None:
        from support.dtms_server_world import service_of

        await service_of(self.client).run_cycle()

    async def register(
        self, ticket: int, symbol: str = "XAUUSD", *, status: int = 201, **kw: Any
    ) -> None:
        body = {"ticket": ticket, "symbol": symbol, "direction": "buy", "volume": 1.0}
        price = self.world.price(symbol)
        body |= {"entry": price, "stop_loss": round(price * 0.99, 5), "take_profit": None}
        body |= kw
        resp = await self.client.post("/dtms/trade/enable", json=body, headers=AUTH)
        assert resp.status == status, await resp.text()


MakeRig = Callable[..., Awaitable[Rig]]


@pytest.fixture
def make_rig(aiohttp_client: Callable[..., Awaitable[Client]], tmp_path: Path) -> MakeRig:
    """``await make_rig()``: a started server (dashboard on, token ``TOKEN``) and a client."""

    async def make(*, server_kwargs: dict[str, Any] | None = None) -> Rig:
        world = World(
            {"XAUUSD": wavy_path(2000.0, 400), "EURUSD": wavy_path(1.1, 400)}, visible=300
        )
        puppets: list[Puppet] = []

        def factory(dtms: DtmsSettings, store: Store) -> Puppet:
            puppets.append(Puppet(store))
            return puppets[-1]

        settings = ServerSettings(
            dtms=DtmsSettings(state_dir=str(tmp_path / "state")),
            token=TOKEN,
            monitor_seconds=3600.0,  # the first cycle runs at start; tests drive the rest
        )
        app = create_app(
            settings,
            host=make_host(world.broker, world, world),
            strategy_factory=factory,
            dashboard=True,
        )
        client = await aiohttp_client(app, server_kwargs=server_kwargs or {})
        return Rig(client, world, puppets[0])

    return make


def open_ticket(world: World, symbol: str = "XAUUSD") -> int:
    from support.dtms_server_world import open_position

    return open_position(world, symbol)
