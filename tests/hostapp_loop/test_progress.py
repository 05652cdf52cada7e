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


def test_one_display_for_several_runs_in_plain_lines() -> None:
    from hostapp.progress import RunsProgress

    out = io.StringIO()
    display = RunsProgress(3, "A/B", stream=out, tty=False)
    runs = [display.run(i, label) for i, label in enumerate(("without", "full", "same"))]
    for done in range(1, 101):  # two runs side by side
        runs[0](done, 100)
        runs[1](done, 100)
    runs[0].finish()
    runs[1].finish()
    for done in range(1, 101):
        runs[2](done, 100)
    runs[2].finish()
    display.finish()
    lines = out.getvalue().splitlines()
    pcts = [int(line.split(":")[1].split("%")[0]) for line in lines]
    assert pcts == sorted(pcts) and pcts[-1] == 100 and len(lines) == 11
    assert lines[-1] == "A/B: 100% (3/3 runs)"
    assert "A/B:  60% (0/3 runs)" in lines  # two runs side by side at 100 %: two thirds
    assert "A/B:  70% (2/3 runs)" in lines


def test_one_terminal_line_for_several_runs() -> None:
    from hostapp.progress import RunsProgress

    out, clock = io.StringIO(), FakeClock()
    display = RunsProgress(2, "sweep", stream=out, tty=True, clock=clock)
    a, b = display.run(1, "#1"), display.run(2, "#2")
    for i in range(1, 1001):
        clock.t = i * 0.001
        a(i, 1000)
        b(i // 2, 1000)
    assert 9 <= display.lines <= 12
    last = out.getvalue().rsplit("\r", 1)[-1]
    assert "#1 100%" in last and "#2  50%" in last and "0/2 runs" in last
    for i in range(501, 1001):  # the second run goes through its bars too
        clock.t = 1 + i * 0.001
        b(i, 1000)
    a.finish()
    b.finish()
    display.finish()
    text = out.getvalue()
    assert "\n" not in text[:-1] and "2/2 runs" in text.rsplit("\r", 1)[-1]
