"""Files of several spacings replayed together: a file resampled up whose data ends before
its last coarse bar does (an index's session closing at 22:00 inside the 20:00-24:00 H4
bar) keeps that bar when the other files go on, as every day's short one is kept. It was
dropped for want of a later bar to close it: a trade still open was priced at the close
of the bar before (its floating result 31 off in a quant's portfolio), and the last two
hours of the file were never checked against its stop."""

from __future__ import annotations

from datetime import UTC, datetime

from hostapp.replay_files import to_one_spacing
from hostapp.testing import bars_from_closes

DAY = datetime(2024, 4, 29, tzinfo=UTC)


def test_a_file_that_ends_inside_its_last_coarse_bar_keeps_it() -> None:
    # H1 bars 00:00..21:00 (a session that closes at 22:00), H4 bars to the next day's end
    index = bars_from_closes([5000.0 + i for i in range(22)], start=DAY, step_seconds=3600)
    other = bars_from_closes([2000.0 + i for i in range(12)], start=DAY, step_seconds=4 * 3600)
    notes: list[str] = []
    files, base = to_one_spacing(
        [("US500.csv", "US500", index), ("XAUUSD.csv", "XAUUSD", other)],
        {"US500.csv": "H1", "XAUUSD.csv": "H4"},
        "H4",
        notes,
        None,
    )
    assert base == "H4"
    (resampled,) = [bars for path, _, bars in files if path == "US500.csv"]
    assert [b.time.hour for b in resampled] == [0, 4, 8, 12, 16, 20]
    last = resampled[-1]
    assert (last.open, last.close) == (index[20].open, index[21].close)


def test_a_file_whose_data_ends_with_the_replay_keeps_no_half_bar() -> None:
    """Where no file goes on, the last coarse bar is as complete as the data says: a
    bucket cut short by the end of all the data is not a bar (as before)."""
    index = bars_from_closes([5000.0 + i for i in range(22)], start=DAY, step_seconds=3600)
    other = bars_from_closes([2000.0 + i for i in range(5)], start=DAY, step_seconds=4 * 3600)
    files, _ = to_one_spacing(
        [("US500.csv", "US500", index), ("XAUUSD.csv", "XAUUSD", other)],
        {"US500.csv": "H1", "XAUUSD.csv": "H4"},
        "H4",
        [],
        None,
    )
    (resampled,) = [bars for path, _, bars in files if path == "US500.csv"]
    assert [b.time.hour for b in resampled] == [0, 4, 8, 12, 16]
