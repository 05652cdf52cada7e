"""A sync hook that drops ``host.execute(...)`` unawaited is said in the host's own ERROR
line naming the plugin (:mod:`hostapp.unawaited`); Python's nameless ``RuntimeWarning:
coroutine 'Host._execute' was never awaited`` and its "Enable tracemalloc" line no
longer follow it, in the run or in either half of its A/B. A plugin's own coroutine
dropped unawaited is still warned about by Python."""

from __future__ import annotations

from pathlib import Path

from support.plugin_dist import hostapp, install

FORGETFUL = """
from hookspecs import Action, ActionKind, hookimpl


async def own_work():
    return None


class Forgetful:
    def __init__(self, own):
        self.own = own

    @hookimpl
    def manage_positions(self, host):
        for p in host.broker.positions():
            host.execute(Action(p.ticket, ActionKind.CLOSE, {}, key=f"close-{p.ticket}"))
        if self.own:
            self.own = False
            own_work()


closer = Forgetful(False)
both = Forgetful(True)
"""

ERROR = "plugin 'forgetful' called host.execute(...) for close of ticket"


def _run(tmp_path: Path, attr: str) -> str:
    env = install(tmp_path, FORGETFUL, {"forgetful": attr})
    done = hostapp(tmp_path, env, "run", "--days", "2", "--report", str(tmp_path / "report"))
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_the_hosts_error_line_alone_says_a_dropped_execute(tmp_path: Path) -> None:
    stderr = _run(tmp_path, "closer")
    said = [line for line in stderr.splitlines() if ERROR in line]
    assert said and all(" ERROR " in line for line in said), stderr
    assert any("[without]" in line for line in said), said  # the A/B's half says it too
    assert "RuntimeWarning" not in stderr
    assert "tracemalloc" not in stderr


def test_a_plugins_own_coroutine_never_awaited_is_still_warned_about(tmp_path: Path) -> None:
    stderr = _run(tmp_path, "both")
    assert ERROR in stderr
    assert "RuntimeWarning: coroutine 'own_work' was never awaited" in stderr
    assert "'Host._execute' was never awaited" not in stderr
