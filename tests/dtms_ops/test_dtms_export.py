"""``dtms export`` as a real process on a real store: every field of every exported trade
reads back equal to the store's, the range is ``[--since, --until)``, open trades (and
closed ones still owing an action) are never exported nor removed by retention, and bad
dates or a missing store are one line on stderr with exit code 2."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.dtms_kit import T0
from support.dtms_local_rig import M5, Rig
from support.e2e_procs import command, dtms_export, into_closed_pipe

from dtms_plugin.engine import TradeRecord
from dtms_plugin.store import PER_TICKET_ACTIONS, Store

SINCE = datetime(2026, 1, 5, tzinfo=UTC)
UNTIL = datetime(2026, 1, 12, tzinfo=UTC)


def _plain(ticket: int, state: str, closed_at: datetime | None, **more: Any) -> dict[str, Any]:
    at = closed_at.isoformat() if closed_at is not None else None
    return {"ticket": ticket, "state": state, "closed_at": at, "owed": [], **more}


async def _run_trades(state: Path) -> None:
    """Trades the local strategy really runs: journals, states, action history."""
    rig = Rig(state)
    await rig.start()
    for ticket in range(1, 6):
        await rig.open_buy(ticket=ticket, volume=0.1)
    await rig.cycles(40)  # down the ladder: stops moved, hedges, history
    for ticket in (1, 2, 3):
        if rig.broker.position(ticket) is not None:
            rig.broker.close(ticket)
            await rig.strategy.on_trade_closed(rig.host, rig.broker.closed[-1], "manual")
        await rig.cycles(1)
    await rig.stop()


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trades the local strategy ran, closed on 2026-01-05 (some still open); then records
    closed on and around the range's bounds, one open, one still owing its hedge's close."""
    folder = tmp_path_factory.mktemp("export")
    state = folder / "state"
    asyncio.run(_run_trades(state))
    with Store(state) as store:
        store.put_record(900, _plain(900, "CLOSED", SINCE - timedelta(microseconds=1)))
        store.put_record(901, _plain(901, "CLOSED", SINCE))  # on --since: in
        store.put_record(902, _plain(902, "CLOSED", UNTIL - timedelta(seconds=1)))
        store.put_record(903, _plain(903, "CLOSED", UNTIL))  # on --until: out
        store.put_record(904, _plain(904, "HEDGED", SINCE + timedelta(days=1)))  # open
        store.put_record(905, _plain(905, "CLOSED", SINCE + timedelta(days=1), owed=["close"]))
        store.put_state(901, "CLOSED", SINCE)
        store.append_action({"ticket": 901, "type": "state_change", "from": "HEDGED",
                             "to": "CLOSED", "at": SINCE.isoformat()})  # fmt: skip
    (folder / "plugins.toml").write_text(f'[plugin.dtms]\nstate_dir = "{state}"\n')
    return folder


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_field_of_every_exported_trade_reads_back_as_stored(store_dir: Path) -> None:
    out = store_dir / "all.jsonl"
    proc = dtms_export(store_dir, "--since", "2026-01-01", "--until", "2026-02-01",
                       "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = _lines(out)
    with Store(store_dir / "state") as store:
        records = store.records()
        ran = [t for t in (1, 2, 3, 4, 5) if records[t]["state"] == "CLOSED"]
        assert {1, 2, 3} <= set(ran)
        assert [line["ticket"] for line in lines] == [*ran, 900, 901, 902, 903]
        for line in lines:
            ticket = line["ticket"]
            stored = store.get_record(ticket)
            assert stored is not None
            assert set(line["record"]) == set(stored)
            for key, value in stored.items():
                assert line["record"][key] == value, (ticket, key)
            if ticket in ran:  # a whole engine record (the bound ones are hand-written)
                assert TradeRecord.from_json(line["record"]) == TradeRecord.from_json(stored)
            state = store.get_state(ticket)
            assert line["state"] == (
                None if state is None else {"state": state[0], "at": state[1].isoformat()}
            )
            assert line["actions"] == store.actions(ticket, PER_TICKET_ACTIONS)
        rich = [line for line in lines if line["ticket"] in ran]
        assert all(line["record"]["journal"] and line["actions"] for line in rich)
        assert all(line["state"]["state"] == "CLOSED" for line in rich)
    assert proc.stdout == ""
    assert f"{len(lines)} closed trades" in proc.stderr
    assert "1 closed trade still owes an action" in proc.stderr


def test_the_range_is_since_inclusive_until_exclusive_to_stdout(store_dir: Path) -> None:
    proc = dtms_export(store_dir, "--since", SINCE.isoformat(), "--until", "2026-01-12")
    assert proc.returncode == 0, proc.stderr
    tickets = [json.loads(line)["ticket"] for line in proc.stdout.splitlines()]
    assert 900 not in tickets and 903 not in tickets
    assert tickets[-2:] == [901, 902]
    later = dtms_export(store_dir, "--since", "2026-01-12T00:00:00+00:00")
    assert [json.loads(line)["ticket"] for line in later.stdout.splitlines()] == [903]
    # a time with an offset is that instant: 01:00+01:00 is midnight UTC
    shifted = dtms_export(store_dir, "--since", "2026-01-12T01:00:00+01:00", "--until",
                          "2026-01-12T00:00:01")  # fmt: skip
    assert [json.loads(line)["ticket"] for line in shifted.stdout.splitlines()] == [903]
    # a lowercase z is UTC as an uppercase one is
    lower = dtms_export(
        store_dir, "--since", "2026-01-12T00:00z", "--until", "2026-01-12T00:00:01Z"
    )
    assert lower.returncode == 0, lower.stderr
    assert [json.loads(line)["ticket"] for line in lower.stdout.splitlines()] == [903]


def test_open_trades_are_never_exported_nor_removed_by_retention(store_dir: Path) -> None:
    proc = dtms_export(store_dir)  # every closed trade up to now
    exported = {json.loads(line)["ticket"] for line in proc.stdout.splitlines()}
    with Store(store_dir / "state") as store:
        open_now = {t for t, r in store.records().items() if r["state"] != "CLOSED"}
        assert 904 in open_now and 4 in open_now | exported
        assert not exported & (open_now | {905})
    copy = store_dir.parent / "retention"
    copy.mkdir(exist_ok=True)
    with Store(copy) as store:
        with Store(store_dir / "state") as source:
            for ticket, record in source.records().items():
                store.put_record(ticket, record)
        gone = set()
        while batch := store.purge_closed(T0 + M5 * 10_000, 2):
            gone |= set(batch)
        assert gone == exported
        assert set(store.records()) == open_now | {905}


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--since", "last tuesday"], "--since"),
        (["--until", "2026-13-01"], "--until"),
        (["--since", "2026-02-01", "--until", "2026-01-01"], "--since 2026-02-01 is not before"),
        (["--since", "0001-01-01T00:00+05:00"], "--since: '0001-01-01T00:00+05:00' is outside"),
        (["--until", "9999-12-31T23:59:59-05:00"], "--until: '9999-12-31T23:59:59-05:00' is"),
    ],
)
def test_a_bad_date_is_one_line_naming_the_flag(
    store_dir: Path, args: list[str], named: str
) -> None:
    proc = dtms_export(store_dir, *args)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"dtms export: {named}")


def test_no_store_is_one_line_naming_the_folder(tmp_path: Path) -> None:
    (tmp_path / "plugins.toml").write_text(f'[plugin.dtms]\nstate_dir = "{tmp_path / "none"}"\n')
    proc = dtms_export(tmp_path, "--since", "2026-01-01")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert f"no DTMS store in {tmp_path / 'none'}" in proc.stderr
    assert (
        "a simulated run or a replay keeps its own in its report folder (state/dtms" in proc.stderr
    )
    assert not (tmp_path / "none").exists()  # looking did not create one
    (tmp_path / "plugins.toml").write_text("[plugin.dtms]\nretention = 3\n")
    proc = dtms_export(tmp_path)
    assert proc.returncode == 2 and "[plugin.dtms]: unknown key 'retention'" in proc.stderr


def test_plugins_toml_is_read_as_the_host_reads_it(store_dir: Path, tmp_path: Path) -> None:
    """A BOM (Notepad saves one) is read as the host reads it; text that is not UTF-8 and
    nesting past what tomllib can parse are one line naming the file."""
    folder = tmp_path / "bom"
    folder.mkdir()
    text = (store_dir / "plugins.toml").read_text()
    (folder / "plugins.toml").write_bytes(b"\xef\xbb\xbf" + text.encode())
    proc = dtms_export(folder, "--since", "2026-01-05", "--until", "2026-01-06")
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["ticket"] for line in proc.stdout.splitlines()] != []
    for bad, said in ((b"[plugin.dtms]\nstate_dir = '\xff'\n", "not UTF-8 text"),
                      (b"x = " + b"[" * 100_000, "not valid TOML")):  # fmt: skip
        (folder / "plugins.toml").write_bytes(bad)
        proc = dtms_export(folder)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
        assert proc.stderr.startswith("dtms export: ") and said in proc.stderr, proc.stderr


@pytest.mark.parametrize("buffered", [False, True])
def test_a_reader_that_goes_away_ends_the_export_quietly(store_dir: Path, buffered: bool) -> None:
    """``dtms export | head -c 10``: the reader closes the pipe; the export stops without
    a traceback (unbuffered, at the first line; buffered, at the flush), with the shell's
    code for SIGPIPE."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOSTAPP_", "DTMS_"))}
    proc = into_closed_pipe([*command("dtms"), "export"], store_dir, env, buffered=buffered)
    assert proc.returncode == 141, proc.stderr
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr
