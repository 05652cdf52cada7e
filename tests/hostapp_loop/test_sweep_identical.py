"""A sweep whose rows are all alike says so, and why when it can tell (hostapp.sweep_table.
identical_rows). A probe swept a setting its plugin reads only in ``allow_order``: the
same-entries runs of a sweep open every entry of the baseline, vetoes or not, so the three
rows were identical, ranked 1, 2 and 3 without a word (and the guard, whose would-be vetoes
were not counted, was called one that "vetoed nothing")."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from hostapp_loop.replay_cli import bars_folder, replay
from support.plugin_dist import install

PLUGINS = textwrap.dedent(
    """
    from dataclasses import dataclass
    from hookspecs import Action, ActionKind, hookimpl, parse_settings

    @dataclass(frozen=True)
    class Limit:
        limit: int = 1

    class Guard:
        def __init__(self):
            self.limit = 1

        @hookimpl
        def configure(self, host):
            self.limit = parse_settings(Limit, host.config_for("guard"), "[plugin.guard]").limit

        @hookimpl
        def allow_order(self, host, order):
            if len(host.broker.positions()) >= self.limit:
                return "too many open"
            return None

    @dataclass(frozen=True)
    class Label:
        label: str = "x"

    class Closer:
        def __init__(self):
            self.ages = {}

        @hookimpl
        def configure(self, host):
            parse_settings(Label, host.config_for("closer"), "[plugin.closer]")

        @hookimpl
        async def manage_positions(self, host):
            for p in host.broker.positions():
                self.ages[p.ticket] = self.ages.get(p.ticket, 0) + 1
                if self.ages[p.ticket] == 10:
                    await host.execute(Action(p.ticket, ActionKind.CLOSE, {}, key=f"{p.ticket}"))
    """
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    here = tmp_path_factory.mktemp("sweep_identical")
    env = install(here, PLUGINS, {"guard": "Guard", "closer": "Closer"})
    return bars_folder(here, bars=1200), env


def _sweep(
    folder: tuple[Path, dict[str, str]], plugin: str, off: str, sweep: str, report: str
) -> tuple[str, dict]:
    here, env = folder
    proc = replay(
        here, "XAUUSD.csv", "--compare", plugin, "--sweep", sweep, "--report", report,
        "--jobs", "1", env={**env, "HOSTAPP_DISABLE_PLUGINS": off},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, json.loads((here / report / "sweep.json").read_text())


def test_a_veto_only_setting_s_identical_rows_are_said_and_why(
    folder: tuple[Path, dict[str, str]],
) -> None:
    out, summary = _sweep(folder, "guard", "dtms,closer", "guard.limit=1,2,3", "vetoes")
    rows = summary["rows"]
    assert len(rows) == 3 and any(r["did_nothing"] is None for r in rows)  # limit=1 vetoes
    why = summary["identical"]
    assert why.startswith("the 3 rows are identical: guard.limit changed only which entries")
    assert "never applying a veto" in why
    assert f"note: {why}" in " ".join(out.split())


def test_a_setting_that_changes_nothing_is_said_so(folder: tuple[Path, dict[str, str]]) -> None:
    out, summary = _sweep(folder, "closer", "dtms,guard", "closer.label=a,b", "label")
    why = summary["identical"]
    assert why.startswith("the 2 rows are identical: the swept values of closer.label changed")
    assert "note: the 2 rows are identical" in out


def test_rows_that_differ_say_nothing_of_it(folder: tuple[Path, dict[str, str]]) -> None:
    _, summary = _sweep(folder, "closer", "dtms", "guard.limit=1,3", "differ")
    assert summary["identical"] is None


def test_a_key_that_changes_nothing_beside_one_that_does_is_said(
    folder: tuple[Path, dict[str, str]],
) -> None:
    """Two keys swept, one of which changed nothing (a probe swept a deadline of a state
    no trade reached beside a threshold): the rows differ, so no "identical" note, and
    the table ranked the inert key's rows apart by the order they ran in, without a word."""
    here, env = folder
    proc = replay(
        here, "XAUUSD.csv", "--compare", "closer", "--sweep", "guard.limit=1,3",
        "--sweep", "closer.label=a,b", "--report", "inert", "--jobs", "1",
        env={**env, "HOSTAPP_DISABLE_PLUGINS": "dtms"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((here / "inert" / "sweep.json").read_text())
    assert len(summary["rows"]) == 4 and summary["identical"] is None
    why = summary["inert"]
    assert why.startswith("the swept values of closer.label changed nothing in these runs")
    assert "guard.limit" not in why
    assert f"note: {why}" in " ".join(proc.stdout.split())
