"""The progress bar: a redrawn line on a terminal, rate-limited; plain lines elsewhere."""

from __future__ import annotations

import io

from hostapp.progress import ProgressBar


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_terminal_redraws_at_most_ten_times_a_second() -> None:
    out, clock = io.StringIO(), FakeClock()
    bar = ProgressBar("run", stream=out, tty=True, clock=clock)
    for i in range(1, 1001):
        clock.t = i * 0.001  # 1000 cycles in one second
        bar(i, 1000)
    assert 9 <= bar.lines <= 11
    bar.finish()
    text = out.getvalue()
    assert "\n" not in text[:-1]  # one line, redrawn with carriage returns
    last = text.rsplit("\r", 1)[-1]
    assert "100.0%" in last and "1000/1000" in last and last.endswith("\n")
    assert "[" + "#" * 30 + "]" in last


def test_plain_lines_every_ten_percent_when_not_a_terminal() -> None:
    out = io.StringIO()
    bar = ProgressBar("replay", stream=out, tty=False)
    for i in range(1, 501):
        bar(i, 500)
    bar.finish()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert lines[-1] == "replay: 100% (500/500 bars)"
    assert [int(line.split(":")[1].split("%")[0]) for line in lines] == list(range(0, 101, 10))
