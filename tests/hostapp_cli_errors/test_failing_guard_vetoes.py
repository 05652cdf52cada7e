"""A guard whose ``allow_order`` raises now and then vetoes the orders it failed on (fails
closed), each with a reason that holds its error's text; a text that names the order
(its symbol, a request id) made every one of them an episode of its own, one INFO line per
vetoed order. Its vetoes belong to the episode of its failures (hostapp/failed_calls.py,
docs/architecture.md §6), whatever the text: the first order said in full, the count when
the guard answers again or the run ends. The guard is installed as any third party's (an
entry point of a distribution on sys.path) and ``hostapp replay`` is a real process."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

from hostapp_loop.replay_cli import bars_folder
from support.plugin_dist import hostapp, install

PLUGINS = textwrap.dedent(
    """
    from hookspecs import OrderRequest, hookimpl

    class EveryBar:
        @hookimpl
        def propose_orders(self, host, symbol, bars, now):
            close = bars[-1].close
            return [OrderRequest(symbol, "buy", 0.01, stop_loss=close - 5, take_profit=close + 5)]

    class Flaky:
        '''Fails every third order of its first 150 and of calls 500 to 560: a risk
        service that times out now and then, twice in the run.'''

        def __init__(self):
            self.calls = 0

        @hookimpl
        def allow_order(self, host, order):
            self.calls += 1
            if self.calls % 3 == 0 and (self.calls < 150 or 500 <= self.calls < 560):
                raise RuntimeError(
                    f"risk service timeout for order {order.symbol} {order.volume} "
                    f"(request {self.calls})"
                )
            return None
    """
)
CONFIG = textwrap.dedent(
    """
    [host]
    symbols = ["XAUUSD"]
    [plugins]
    enabled = ["everybar", "flaky"]
    disabled = ["dtms", "exits"]
    order = ["everybar", "flaky"]
    """
)
AT = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00"


def test_a_guard_failing_now_and_then_is_one_veto_line_per_episode_of_its_failures(
    tmp_path: Path,
) -> None:
    env = install(tmp_path, PLUGINS, {"everybar": "EveryBar", "flaky": "Flaky"})
    bars_folder(tmp_path, bars=600, config=False)
    (tmp_path / "plugins.toml").write_text(CONFIG)
    done = hostapp(tmp_path, env, "replay", "XAUUSD.csv", "--report", "rep")
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    vetoed = summary["orders_vetoed"]
    assert vetoed == 49 + 20, summary  # calls 3..147 and 501..558, every third
    log = (tmp_path / "rep" / "hostapp.log").read_text().splitlines()
    said = [line.split(" INFO hostapp.host: ", 1)[1] for line in log if "vetoed" in line]
    assert len(said) == 4, said
    first, ended, again, run_ended = said
    # the first order of each episode in full, its error's text kept
    assert first == (
        "order buy XAUUSD from everybar vetoed: flaky: allow_order failed (RuntimeError: "
        "risk service timeout for order XAUUSD 0.01 (request 3)); vetoed to be safe"
    )
    # ended with the episode of its failures: 100 calls in a row answered
    assert re.fullmatch(
        rf"its allow_order answers again, after 48 more orders vetoed \(flaky: allow_order "
        rf"failed\) from {AT} to {AT}",
        ended,
    ), ended
    assert again.endswith("(request 501)); vetoed to be safe"), again
    assert re.fullmatch(
        rf"until the run ended: 19 more orders vetoed \(flaky: allow_order failed\) "
        rf"from {AT} to {AT}",
        run_ended,
    ), run_ended
    # the failures themselves, on the terminal as before: one line each episode's start
    starts = [ln for ln in done.stderr.splitlines() if "allow_order failed" in ln]
    assert len(starts) == 2 and "(request 3)" in starts[0] and "(request 501)" in starts[1]
