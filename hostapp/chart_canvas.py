"""What every chart of a replay report shares: its size, the runs' colours, a figure of
stacked panels on one time axis, date ticks, and a fast conversion to matplotlib's dates.

Figures are built with :class:`matplotlib.figure.Figure`, not pyplot, so no global figure
is left behind, and the Agg backend is chosen only when a chart is drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

RUN_COLOURS = ("#7f7f7f", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")
SIZE = (14.0, 6.0)
DPI = 100
_DAY = timedelta(days=1)


def legend_labels(fig: Figure) -> list[str]:
    """Every label in the figure's legends, in order: what a reader is told is drawn."""
    legends = [ax.get_legend() for ax in fig.axes] + list(fig.legends)
    return [t.get_text() for lg in legends if lg is not None for t in lg.get_texts()]


def new_figure(rows: Sequence[float]) -> tuple[Figure, list[Axes]]:
    """A figure of the report's size with stacked panels sharing the time axis."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    axes = fig.subplots(len(rows), 1, sharex=True, height_ratios=list(rows), squeeze=False)
    return fig, [a for (a,) in axes]


def date_axis(ax: Axes) -> None:
    """Concise dates: they adapt from minutes to years and never overlap."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def num(when: datetime) -> float:
    """Matplotlib's date number, for artists built from raw coordinates."""
    return date_numbers()(when)


@cache
def date_numbers() -> Callable[[datetime], float]:
    """A converter to matplotlib's date numbers (days since its epoch): the time since one
    date :func:`matplotlib.dates.date2num` converted, in days. ``date2num`` itself costs
    about 20 µs a call, and a price chart converts every bar (100,000 of them: 2 s)."""
    import matplotlib.dates as mdates

    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    base = float(mdates.date2num(epoch))

    def num(when: datetime) -> float:
        return base + (when - epoch) / _DAY

    return num


_DAY = timedelta(days=1)


class ChartError(Exception):
    """Charts that could not be written (``failed``: each file and why), after the ones
    that could (``written``). A full disk or a folder in the chart's place is a line per
    chart for the command to say, not a traceback that loses the run's results."""

    def __init__(self, failed: Sequence[tuple[Path, str]], written: Sequence[Path] = ()) -> None:
        self.failed = list(failed)
        self.written = list(written)
        super().__init__("; ".join(self.lines()))

    def lines(self) -> list[str]:
        """One sentence per chart that could not be written, naming it and why."""
        return [f"cannot write the chart {path}: {why}" for path, why in self.failed]


def save_figure(fig: Figure, path: Path) -> None:
    """``fig`` as the PNG ``path``; a :class:`ChartError` naming it and why when the file
    cannot be written, with what was begun of it removed (a 0-byte chart was left behind
    on a full disk, for a reader to take for one)."""
    existed = path.exists()
    try:
        fig.savefig(path)
    except OSError as exc:
        with suppress(OSError):  # ours when new or emptied; else a file it could not open
            if path.is_file() and (not existed or path.stat().st_size == 0):
                path.unlink()
        raise ChartError([(path, exc.strerror or str(exc))]) from None
