"""A plugin that raises what is not an ``Exception`` (``sys.exit()``, ``SystemExit(3)``, a
bare ``BaseException``, a ``CancelledError`` of its own from a sync hook) is isolated like
one that raises a RuntimeError: its failure, logged naming it and its hook, counted by
its breaker, and the run ends with its summary. They took the host down: exit 0 or 3
without a summary, a traceback, or (a CancelledError from ``is_defensive``) the exit
manager that asked blamed and switched off. A ``KeyboardInterrupt`` a plugin raises
stops the run as Ctrl-C does, its report written (docs/architecture.md §4). ``hostapp
run`` is a real process; the plugins are a third party's entry points."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from support.plugin_dist import hostapp, install

PLUGINS = textwrap.dedent(
    """
    import asyncio
    import sys
    from hookspecs import hookimpl

    class ExitsOnce:
        "SystemExit(3) from its first allow_order (3 is also the A/B's 'did nothing')"
        def __init__(self):
            self.calls = 0

        @hookimpl
        def allow_order(self, order):
            self.calls += 1
            if self.calls == 1:
                raise SystemExit(3)
            return None

    class ExitsOnClose:
        @hookimpl
        async def on_trade_closed(self, trade, reason):
            sys.exit()

    class Base:
        @hookimpl
        def on_cycle(self, now):
            raise BaseException("bare")

    class CancelsDefensive:
        @hookimpl
        def is_defensive(self, ticket):
            raise asyncio.CancelledError()

    class CancelsOrder:
        def __init__(self):
            self.calls = 0

        @hookimpl
        def allow_order(self, order):
            self.calls += 1
            if self.calls == 2:
                raise asyncio.CancelledError()
            return None

    class CancelsReport:
        @hookimpl
        def run_report(self):
            raise asyncio.CancelledError()

    class Interrupts:
        def __init__(self):
            self.calls = 0

        @hookimpl
        def on_cycle(self, now):
            self.calls += 1
            if self.calls == 50:
                raise KeyboardInterrupt

        @hookimpl
        def run_report(self):
            return {"activity": self.calls}
    """
)
ENTRY_POINTS = {
    "exits_once": "ExitsOnce",
    "exits_on_close": "ExitsOnClose",
    "base": "Base",
    "cancels_defensive": "CancelsDefensive",
    "cancels_order": "CancelsOrder",
    "cancels_report": "CancelsReport",
    "interrupts": "Interrupts",
}
RUN = ("run", "--days", "2", "--report", "rep", "--no-compare")


def configure(tmp_path: Path, *off: str) -> dict[str, str]:
    env = install(tmp_path, PLUGINS, ENTRY_POINTS)
    disabled = ", ".join(f'"{name}"' for name in off)
    (tmp_path / "plugins.toml").write_text(
        f'[host]\nsymbols = ["XAUUSD"]\n[plugins]\ndisabled = [{disabled}]\n'
    )
    return env


def test_systemexit_baseexception_and_a_sync_cancellation_are_the_plugins_failures(
    tmp_path: Path,
) -> None:
    env = configure(tmp_path, "interrupts")
    done = hostapp(tmp_path, env, *RUN)
    assert done.returncode == 0, done.stderr[-3000:]
    said = [line for line in done.stderr.splitlines() if not line.startswith("run: ")]
    assert "Traceback" not in done.stderr and "Task exception" not in done.stderr, said
    for wanted in (
        "plugin exits_once: allow_order failed: SystemExit: 3",
        "plugin exits_on_close: on_trade_closed failed: SystemExit",
        "plugin base: on_cycle failed: BaseException: bare",
        "plugin cancels_defensive: is_defensive failed: CancelledError",
        "plugin cancels_order: allow_order failed: CancelledError",
        "plugin cancels_report: run_report failed: CancelledError",
    ):
        assert sum(wanted in line for line in said) == 1, (wanted, said)
    assert not any("plugin exits" in line and "manage_positions" in line for line in said), said
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert summary["trades"] > 0 and "exits" in summary["plugins"]
    assert summary["plugin_reports"]["cancels_report"] == {"error": "CancelledError"}
    notes = " ".join(summary["host_notes"])
    # switched off, it vanished from summary.json: from plugins and plugin_reports alike
    (base,) = [t for t in summary["tripped"] if t["plugin"] == "base"]
    assert base["why"].startswith("breaker tripped after 5 consecutive failures of on_cycle")
    assert summary["plugin_reports"]["base"] == {"error": f"switched off: {base['why']}"}
    assert "base" not in summary["plugins"]  # the plugins running at the end, as before
    at = base["at"].replace("T", " ").replace("+00:00", " UTC")
    assert f"plugin base was switched off at {at}: breaker tripped after 5 consecutive" in notes
    for name, failed in (("exits_on_close", "on_trade_closed: SystemExit"),
                         ("cancels_defensive", "is_defensive: CancelledError"),
                         ("exits_once", "allow_order: SystemExit: 3")):  # fmt: skip
        assert f"plugin {name} failed: {failed}" in notes, name


def test_a_keyboardinterrupt_a_plugin_raises_stops_the_run_with_its_report(
    tmp_path: Path,
) -> None:
    """It said "interrupted before it could stop in order; what it had not written yet
    is missing" (exit 130, no summary), and the asyncio task's exception on top."""
    off = [n for n in ENTRY_POINTS if n != "interrupts"]
    env = configure(tmp_path, *off)
    done = hostapp(tmp_path, env, *RUN)
    assert done.returncode == 130, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "Task exception" not in done.stderr
    assert "before it could stop in order" not in done.stderr
    (line,) = [ln for ln in done.stderr.splitlines() if "KeyboardInterrupt" in ln]
    assert "plugin interrupts: on_cycle raised KeyboardInterrupt: stopping after this cycle" in line
    assert "hostapp: interrupted; the report covers the run up to the stop" in done.stderr
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert summary["interrupted"] is True
    assert summary["plugin_reports"]["interrupts"] == {"activity": 50}  # stopped at once
    assert "interrupts" in summary["plugins"]  # not counted as its failure
