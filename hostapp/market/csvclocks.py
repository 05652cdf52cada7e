"""The clock a bar file's times were read on when the user named none (``--data-tz``,
``[host] data_tz``), said in the run's notes: HistData.com's files are read on their own
Eastern Standard Time, MetaTrader's, written on the trade server's clock, in UTC.
:mod:`.csvdata` reads the files; this says what it took their times to be.
"""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path


def histdata_mt(path: str | Path, kind: str | None) -> bool:
    """Is this HistData.com's MetaTrader layout (``DAT_MT_…``), on Eastern Standard Time
    unless a zone is given, where other MetaTrader 4 files are on UTC?"""
    return kind == "mt4" and Path(path).stem.upper().startswith("DAT_MT_")


def own_clock_note(
    path: str | Path, kind: str | None, header: list[str], zone: tzinfo | None
) -> str | None:
    """What a file written on its own clock was read in when no zone was given:
    HistData.com's layouts in their Eastern Standard Time, not the UTC the run's
    ``data_tz`` then names; MetaTrader's files, written on the trade server's clock, in
    UTC, which that clock seldom is."""
    if zone is not None:
        return None
    name = Path(path).name
    if kind == "histdata" or histdata_mt(path, kind):
        return (
            f"{name}: HistData.com's layout, its times read as its own Eastern Standard "
            "Time (UTC-5) all year, not UTC; --data-tz (or [host] data_tz) says otherwise"
        )
    named = [h.lower() for h in header]
    layout = kind or ("tick_volume" if "tick_volume" in named else named[0] if named else "")
    server = _METATRADER_LAYOUTS.get(layout)
    if server is None:
        return None
    return (
        f"{name}: {server}, its times read as UTC, not the trade server's clock they are "
        "written on (often UTC+2 or UTC+3); --data-tz (or [host] data_tz) names the "
        "server's zone (Europe/Athens, America/New_York+7)"
    )


#: MetaTrader's layouts, written on the trade server's clock: by the header-less kind
#: (:func:`~.csvexports.headerless_kind`) or the first header cell
_METATRADER_LAYOUTS = {
    "<date>": "MetaTrader 5's export",
    "tick_volume": "MetaTrader 5's Python API bars",
    "mt4": "MetaTrader 4's History Center export",
    "mt4 one cell": "MetaTrader 4's lines",
}
