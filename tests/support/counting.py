"""A bar series that counts the bars read from it: how the streamed-feed tests show that
only what is needed is read."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from hookspecs import Bar


class CountingBars:
    """Yields the bars of ``bars`` (again on each iteration when ``bars`` is a list),
    counting every bar read in ``read``."""

    def __init__(self, bars: Iterable[Bar]) -> None:
        self.bars = bars
        self.read = 0

    def __iter__(self) -> Iterator[Bar]:
        for bar in self.bars:
            self.read += 1
            yield bar
