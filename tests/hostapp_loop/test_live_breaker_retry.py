"""A live run tries a plugin its breaker switched off again (hostapp/breaker.py): five
failures of its ``on_cycle`` in a row switch it off, it is switched back on after
``[host] breaker_retry_seconds`` of the wall clock, doubled after each retry that fails,
and a retry that answers has it back on. Before, a live host kept it off until someone
restarted it: a network blip switched a defender off for good. ``hostapp run --live
--speed`` is a real process; the plugin a third party's entry point, failing while a file
is in the folder the host runs in (the test removes it: the network is back)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import textwrap
import threading
from datetime import datetime
from pathlib import Path

from support.plugin_dist import install

PLUGIN = textwrap.dedent(
    """
    from pathlib import Path
    from hookspecs import hookimpl

    class Blip:
        "Its on_cycle fails while the file 'down' is there."

        @hookimpl
        def on_cycle(self):
            if Path("down").exists():
                raise ConnectionError("network blip")

        @hookimpl
        def web_routes(self):
            return []  # served: what `hostapp serve` loads
    """
)
CONFIG = textwrap.dedent(
    """
    [host]
    symbols = ["XAUUSD"]
    cycle_seconds = 30
    breaker_retry_seconds = 1
    [plugins]
    disabled = ["dtms"]
    """
)
TRIPPED = "plugin blip switched off: breaker tripped after 5 consecutive failures of on_cycle"


def _start(tmp_path: Path, command: list[str]) -> subprocess.Popen[str]:
    env = install(tmp_path, PLUGIN, {"blip": "Blip"})
    (tmp_path / "plugins.toml").write_text(CONFIG)
    (tmp_path / "down").write_text("")
    return subprocess.Popen(
        [sys.executable, "-m", "hostapp.cli", *command],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _read_until(proc: subprocess.Popen[str], seen: list[str], wanted: str) -> None:
    """Lines of the run's stderr into ``seen`` up to one holding ``wanted``."""
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append(line)
        if wanted in line:
            return
    raise AssertionError(f"the run ended before {wanted!r}: {''.join(seen)[-3000:]}")


def _stop(proc: subprocess.Popen[str], seen: list[str], code: int) -> str:
    """Ctrl-C, as a user stops a live run; everything it said on stderr."""
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=60)
    assert proc.returncode == code, "".join(seen)[-3000:] + rest
    return "".join(seen) + rest


LIVE = ["run", "--live", "--speed", "600", "--report", "rep"]


def _run(
    tmp_path: Path, steps: list[str], command: list[str] = LIVE
) -> tuple[str, dict[str, object]]:
    """Start the run, read up to each of ``steps`` (``"UP"``: remove the file first),
    stop it; its stderr and summary (none for ``hostapp serve``)."""
    proc = _start(tmp_path, command)
    watchdog = threading.Timer(150, proc.kill)
    watchdog.start()
    seen: list[str] = []
    try:
        for step in steps:
            if step == "UP":
                (tmp_path / "down").unlink()
            else:
                _read_until(proc, seen, step)
        err = _stop(proc, seen, 130 if command[0] == "run" else 0)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    if command[0] != "run":
        return err, {}
    return err, json.loads((tmp_path / "rep" / "summary.json").read_text())


def _failed_calls(summary: dict[str, object]) -> int:
    notes = summary["host_notes"]
    assert isinstance(notes, list)
    (note,) = [n for n in notes if n.startswith("plugin blip")]
    found = re.search(r"failed calls: (\d+) of on_cycle", note)
    assert found, note
    return int(found.group(1))


def test_a_plugin_that_fails_for_a_while_is_tried_again_and_back_on(tmp_path: Path) -> None:
    over = "plugin blip: on_cycle answers again (100 calls in a row), after "
    err, summary = _run(
        tmp_path,
        [TRIPPED, "plugin blip: retry 1 failed", "UP", "plugin blip back on after", over],
    )
    lines = err.splitlines()
    # after "back on", the count of its failures reads as the end of them, not as a new one
    (end,) = [ln for ln in lines if over in ln]
    assert " WARNING hostapp.plugins: " in end and "more failures in " in end, end
    assert lines.index(end) > min(i for i, ln in enumerate(lines) if "back on after" in ln)
    assert "Traceback" not in err
    assert sum(TRIPPED in ln for ln in lines) == 1, err[-3000:]
    assert any(ln.endswith("tried again in 1 s ([host] breaker_retry_seconds)") for ln in lines)
    assert any(
        "plugin blip: retry 1 failed (on_cycle: ConnectionError: network blip): switched off "
        "again, tried again in 2 s" in ln
        for ln in lines
    ), err[-3000:]
    # the retries made before the file went (one, unless this test read the lines late)
    failed = sum("plugin blip: retry " in ln and " failed (" in ln for ln in lines)
    (back,) = [ln for ln in lines if "plugin blip back on after " in ln]
    assert back.endswith(f"switched off ({failed + 1} retries)"), back
    # the first failure is said once, with no traceback on the terminal: each trip and
    # retry is a line of its own
    assert sum("plugin blip: on_cycle failed: ConnectionError" in ln for ln in lines) == 1

    (entry,) = summary["tripped"]  # type: ignore[misc]
    assert entry["back_on"] is True and entry["on_trial"] is False, entry
    assert entry["trips"] == 1 + failed and entry["retries"] == failed + 1, entry
    assert entry["retry_at"] is None, entry
    assert "blip" in summary["plugins"]  # type: ignore[operator]
    assert "blip" not in summary["plugin_reports"]  # type: ignore[operator]  # no switched off
    assert _failed_calls(summary) == 5 + failed  # the trip's five, each failed retry's one
    notes = [n for n in summary["host_notes"] if n.startswith("plugin blip")]  # type: ignore[union-attr]
    assert f"is back on after {failed + 1} retries" in notes[0], notes


def _said_at(line: str) -> datetime:
    """The time of a log line (``2026-03-02 10:05:00,123 LEVEL …``)."""
    return datetime.strptime(" ".join(line.split()[:2]), "%Y-%m-%d %H:%M:%S,%f")


def test_a_plugin_that_keeps_failing_is_retried_doubling_one_failure_each(
    tmp_path: Path,
) -> None:
    err, summary = _run(tmp_path, [TRIPPED, "plugin blip: retry 3 failed"])
    lines = err.splitlines()
    failed = [ln for ln in lines if "plugin blip: retry " in ln and " failed (" in ln]
    retried = [ln for ln in lines if "plugin blip: switched back on to try again" in ln]
    assert len(failed) == len(retried) >= 3, err[-3000:]
    waits = [ln.rsplit("tried again in ", 1)[1] for ln in failed]
    assert waits[:3] == ["2 s", "4 s", "8 s"], waits
    # Each retry came no sooner than its cool-down after the trip before it (the lines'
    # own times; a loaded machine only makes the gaps longer, but may write a trip's
    # line a little after the cool-down began).
    (tripped,) = [ln for ln in lines if TRIPPED in ln]
    offs = [tripped, *failed]
    for k, wait in enumerate([1, 2, 4]):
        gap = (_said_at(retried[k]) - _said_at(offs[k])).total_seconds()
        assert gap >= wait - 0.2, (k, gap, retried[k], offs[k])
        assert f"(retry {k + 1}; its first failure switches it off again)" in retried[k]

    (entry,) = summary["tripped"]  # type: ignore[misc]
    retries = entry["retries"]
    assert entry["back_on"] is False and entry["retry_at"] is not None, entry
    assert entry["trips"] == 1 + retries, entry  # each retry switched it off again
    assert _failed_calls(summary) == 5 + retries  # one failure a retry, not five
    assert "blip" not in summary["plugins"]  # type: ignore[operator]
    assert summary["plugin_reports"]["blip"]["error"].startswith(  # type: ignore[index]
        f"switched off: breaker tripped again at retry {retries}: on_cycle: ConnectionError"
    )


def test_hostapp_serve_tries_a_tripped_plugin_again_too(tmp_path: Path) -> None:
    """A serving host (``dtms serve``'s) runs for weeks: its monitor's cycles retry."""
    serve = ["serve", "--port", "0", "--monitor-seconds", "0.05"]
    steps = [TRIPPED, "plugin blip: retry 1 failed", "UP", "plugin blip back on after"]
    err, _ = _run(tmp_path, steps, serve)
    lines = err.splitlines()
    assert "Traceback" not in err
    assert any("tried again in 2 s" in ln for ln in lines if "retry 1 failed" in ln), err
    failed = sum("plugin blip: retry " in ln and " failed (" in ln for ln in lines)
    (back,) = [ln for ln in lines if "plugin blip back on after " in ln]
    assert back.endswith(f"switched off ({failed + 1} retries)"), back
