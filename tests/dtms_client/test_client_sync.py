"""DtmsClient (sync) used from plain threads against a real DTMS server on loopback."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from dtms_plugin.client import DtmsClient, DtmsUnreachable

from .conftest import Served


def _body(ticket: int) -> dict[str, object]:
    return {"ticket": ticket, "symbol": "XAUUSD", "direction": "buy", "entry": 2000.0,
            "volume": 1.0, "stop_loss": 1990.0, "take_profit": 2020.0}  # fmt: skip


def _work(client: DtmsClient, ticket: int) -> tuple[str, str, bool, str | None]:
    registered = client.register(_body(ticket)).outcome
    again = client.register(_body(ticket)).outcome
    defensive = client.is_defensive(ticket)
    state = client.state(ticket)
    return registered, again, defensive, state["state"] if state else None


def _from_threads(url: str) -> tuple[list[tuple[str, str, bool, str | None]], set[str], int]:
    names: set[str] = set()
    with DtmsClient(url) as client, ThreadPoolExecutor(max_workers=8) as pool:

        def job(ticket: int) -> tuple[str, str, bool, str | None]:
            names.add(threading.current_thread().name)
            return _work(client, ticket)

        results = list(pool.map(job, range(100, 140)))
        count = client.status()["trades"]
        closed = client.report_closed(100, "sl", -4.0)
        assert closed is not None and closed["trade_info"]["realised_profit"] == -4.0
    return results, names, count


async def test_one_sync_client_shared_by_eight_threads(served: Served) -> None:
    results, names, count = await asyncio.to_thread(_from_threads, served.url)
    assert results == [("registered", "already", False, "HEALTHY")] * 40
    assert len(names) > 1
    assert count == 40


async def test_the_sync_client_stops_its_thread_on_close(served: Served) -> None:
    def use() -> None:
        client = DtmsClient(served.url)
        assert client.health()["status"] == "healthy"
        client.close()
        client.close()  # twice is harmless

    before = {t.name for t in threading.enumerate()}
    await asyncio.to_thread(use)
    assert "dtms-client" not in {t.name for t in threading.enumerate()} - before


def test_a_refused_argument_leaves_no_thread() -> None:
    before = threading.active_count()
    with pytest.raises(ValueError, match="is not an http:// or https:// URL"):
        DtmsClient("localhost:8001")
    assert threading.active_count() == before


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork: POSIX only")
async def test_a_client_made_before_a_fork_says_so_in_the_child(served: Served) -> None:
    """Used in a forked child, it waited for ever on a loop thread left in the parent."""

    def forked() -> int:
        with DtmsClient(served.url) as client:
            assert client.health()["status"] == "healthy"
            pid = os.fork()
            if pid == 0:  # the child: one line of what it met, then out
                try:
                    client.health()
                    code = 1
                except RuntimeError as exc:
                    code = 0 if "before a fork" in str(exc) else 2
                os._exit(code)
            _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)

    assert await asyncio.wait_for(asyncio.to_thread(forked), 30) == 0


async def test_trades_and_states_are_keyed_by_the_integer_ticket(served: Served) -> None:
    """``trades()`` keyed by text and ``states()`` by integer: ``1001 in trades()`` was
    False for a kept trade."""

    def use() -> None:
        with DtmsClient(served.url) as client:
            assert client.register(_body(1001)).ok
            assert 1001 in client.trades() and 1001 in client.trades("HEALTHY")
            assert client.trades().keys() == client.states([1001, 5]).keys() == {1001}

    await asyncio.to_thread(use)


def test_an_empty_url_or_one_without_a_host_is_refused_as_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """url="" silently meant $DTMS_URL or the default server; "http://" was refused as
    'http:', which is not what was given."""
    monkeypatch.setenv("DTMS_URL", "http://127.0.0.1:8001")
    for given in ("", "  "):
        with pytest.raises(ValueError, match=r"^url: '\s*' is empty"):
            DtmsClient(given)
    with pytest.raises(ValueError, match=r"^url: 'http://' names no host"):
        DtmsClient("http://")
    monkeypatch.setenv("DTMS_URL", "https:///")
    with pytest.raises(ValueError, match=r"^DTMS_URL: 'https:///' names no host"):
        DtmsClient()
    monkeypatch.setenv("DTMS_URL", "")  # an empty variable is an unset one: the default
    with DtmsClient() as client:
        assert client.url == "http://127.0.0.1:8001"


def test_a_client_never_closed_says_so_and_ends_its_thread(dead_url: str) -> None:
    """It left its loop thread and connections behind without a word."""
    before = set(threading.enumerate())
    client = DtmsClient(dead_url)
    with pytest.raises(DtmsUnreachable):
        client.status()  # its connection pool exists now
    (thread,) = [t for t in threading.enumerate() if t not in before and t.name == "dtms-client"]
    with pytest.warns(ResourceWarning, match="unclosed DtmsClient for http://127.0.0.1"):
        del client
        gc.collect()
    thread.join(timeout=30)  # bounded: it ends at once, or the assertion says it did not
    assert not thread.is_alive()
