"""Files that are no bar files, or whose bars no market made, refused in one line naming
the file and the line before anything runs: a line too long to be a bar's (a file
without line breaks, ``/dev/zero``), a compressed file, a spike (one bar ten times away
from both its neighbours) and a price past any market's; through the real command too."""

import bz2
import gzip
import lzma
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostapp_cli_errors.test_run_replay_errors import hostapp, one_error_line
from hostapp_loop.csvfiles import write_bars_csv, write_text

from hostapp.market.csvdata import CsvError, load_csv
from hostapp.market.csvlines import MAX_LINE_BYTES
from hostapp.market.synthetic import generate_bars

HEADER = "time,open,high,low,close,volume\n"
ROW = "2024-01-02 00:00,1.1,1.2,1.0,1.15,1\n"


def test_a_file_without_line_breaks_is_refused_at_its_first_line(tmp_path: Path) -> None:
    """A few MB and not one line break: refused as a line too long, not read as a field
    the csv module gives up on (or, for a file of GBs, read whole into memory first)."""
    path = tmp_path / "flat.csv"
    path.write_bytes(b"0" * (4 * 1024 * 1024))
    proc = hostapp(tmp_path, "replay", "--report", "r", "flat.csv")
    assert one_error_line(proc) == "hostapp: flat.csv:1: a line longer than 128 KiB"
    assert not (tmp_path / "r" / "summary.json").exists()


def test_a_long_line_inside_a_file_is_named_by_its_number(tmp_path: Path) -> None:
    text = HEADER + ROW + "x" * (MAX_LINE_BYTES + 1) + "\n" + ROW
    with pytest.raises(CsvError, match=r"data\.csv:3: a line longer than 128 KiB$"):
        load_csv(write_text(tmp_path, text))


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_lines_up_to_the_limit_are_read_whatever_ends_them(tmp_path: Path, end: str) -> None:
    """The limit is the csv module's own on a field: a line of that length is still read
    (here as a column the layout leaves out), with any of the three line ends."""
    wide = "z" * (MAX_LINE_BYTES - len(ROW))
    text = f"time,open,high,low,close,volume,note{end}" + ROW.replace("\n", f",{wide}{end}")
    left_out: list[str] = []
    assert len(load_csv(write_text(tmp_path, text), left_out=left_out)) == 1
    assert left_out == ["note"]


def test_a_stray_quote_is_refused_at_its_line_not_the_rest_of_the_file_dropped(
    tmp_path: Path,
) -> None:
    """A ``"`` that no quote closes made the csv module read every later line into one
    cell, which the loader dropped as "the cut-off last line": 100 of 400 bars lost, one
    line said, exit 0."""
    lines = _gold(tmp_path)
    lines[300] = '"' + lines[300]
    _write(tmp_path, lines)
    proc = hostapp(tmp_path, "replay", "--report", "r", "XAUUSD.csv")
    assert one_error_line(proc) == (
        'hostapp: XAUUSD.csv:301: a quote (") opens a cell that no quote closes on its line: '
        "every line after it would be read into that cell; remove the stray quote"
    )
    assert not (tmp_path / "r" / "summary.json").exists()


@pytest.mark.parametrize(
    ("pack", "said"),
    [
        (lambda data, path: gzip.compress(data), "gzip-compressed, not text: decompress it"),
        (lambda data, path: _zipped(data, path), "a zip archive, not text: extract the CSV"),
        (lambda data, path: bz2.compress(data), "bzip2-compressed, not text: decompress it"),
        (lambda data, path: lzma.compress(data), "xz-compressed, not text: decompress it"),
    ],
    ids=["gzip", "zip", "bzip2", "xz"],
)
def test_a_compressed_file_is_named_for_what_it_is(
    tmp_path: Path, pack: Callable[[bytes, Path], bytes], said: str
) -> None:
    """Binance's and HistData's downloads come zipped, and a gzipped CSV is common: the
    message says to unpack it, not which byte is no UTF-8."""
    path = tmp_path / "XAUUSD.csv.packed"
    path.write_bytes(pack((HEADER + ROW).encode(), tmp_path))
    proc = hostapp(tmp_path, "replay", "--report", "r", path.name)
    assert one_error_line(proc).startswith(f"hostapp: {path.name}: {said}")


def _zipped(data: bytes, folder: Path) -> bytes:
    with zipfile.ZipFile(folder / "a.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("XAUUSD.csv", data)
    return (folder / "a.zip").read_bytes()


#: a workbook's parts, as Excel (``.xlsx``, ``.xlsm``) and LibreOffice (``.ods``) zip them
_WORKBOOK_PARTS = {
    "xlsx": ["[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"],
    "ods": ["mimetype", "content.xml", "META-INF/manifest.xml"],
}
_ODS_MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("XAUUSD.xlsx", "xlsx"),
        ("XAUUSD.xlsm", "xlsx"),
        ("XAUUSD.ods", "ods"),
        ("XAUUSD.csv", "xlsx"),  # a workbook saved under a .csv name: told by its parts
        ("EURUSD.csv", "ods"),
    ],
)
def test_a_spreadsheet_workbook_is_named_as_one_to_save_as_csv(
    tmp_path: Path, name: str, parts: str
) -> None:
    """It was called a zip archive to extract a CSV file from: a workbook has none, its
    sheet is saved as CSV from the spreadsheet."""
    with zipfile.ZipFile(tmp_path / name, "w", zipfile.ZIP_DEFLATED) as book:
        for part in _WORKBOOK_PARTS[parts]:
            if part == "mimetype":  # stored first, uncompressed, as OpenDocument has it
                book.writestr(part, _ODS_MIMETYPE, zipfile.ZIP_STORED)
            else:
                book.writestr(part, "<?xml version='1.0'?><x/>")
    proc = hostapp(tmp_path, "replay", "--report", "r", name)
    assert one_error_line(proc) == (
        f"hostapp: {name}: a spreadsheet workbook, not text: open it in the spreadsheet and "
        "save the sheet of bars as CSV (Save As, CSV), then replay that file"
    )


# -- prices no market quotes: a spike, and a number past any price -----------------------


def _gold(tmp_path: Path, count: int = 400) -> list[str]:
    """The lines of an M5 XAUUSD file of ``count`` bars (the header first)."""
    bars = generate_bars("XAUUSD", datetime(2024, 3, 4, tzinfo=UTC), count, seed=5)
    return write_bars_csv(tmp_path / "XAUUSD.csv", bars).read_text().splitlines()


def _scaled(line: str, factor: float, at: tuple[int, ...] = (1, 2, 3, 4)) -> str:
    """``line`` (time,open,high,low,close,…) with its prices at ``at`` times ``factor``."""
    cells = line.split(",")
    for i in at:
        cells[i] = repr(float(cells[i]) * factor)
    return ",".join(cells)


def _write(tmp_path: Path, lines: list[str], name: str = "XAUUSD.csv") -> Path:
    return write_text(tmp_path, "\n".join(lines) + "\n", name)


def test_a_bar_at_a_hundred_times_the_price_is_refused_naming_its_values(
    tmp_path: Path,
) -> None:
    """One line at 100 times the price gave a P&L of +8 million against −1,825 on the
    clean file, and sized the next position on it, without a word."""
    lines = _gold(tmp_path)
    lines[201] = _scaled(lines[201], 100)  # line 202
    _write(tmp_path, lines)
    proc = hostapp(tmp_path, "replay", "--report", "r", "XAUUSD.csv")
    said = one_error_line(proc)  # no RuntimeWarning either: nothing else on stderr
    assert said.startswith("hostapp: XAUUSD.csv:202: a spike: open ")
    close = float(lines[201].split(",")[4])
    assert f"close {close:.10g}, all more than 10 times above the closes on both sides" in said
    assert "on line 201, " in said and "on line 203)" in said
    assert not (tmp_path / "r" / "summary.json").exists()


def test_a_price_of_1e300_is_refused_whatever_its_neighbours(tmp_path: Path) -> None:
    lines = _gold(tmp_path)
    time, *_, volume, spread = lines[201].split(",")
    lines[201] = ",".join([time, "1e300", "1e300", "1e300", "1e300", volume, spread])
    proc = hostapp(tmp_path, "replay", "--report", "r", _write(tmp_path, lines).name)
    assert one_error_line(proc) == (
        "hostapp: XAUUSD.csv:202: open 1e+300 is not a price: above 1e+18, which no market "
        "quotes (a slip of the exponent?)"
    )


def test_a_bar_at_a_hundredth_of_the_price_is_a_spike_too(tmp_path: Path) -> None:
    lines = _gold(tmp_path, 60)
    lines[30] = _scaled(lines[30], 0.01)
    with pytest.raises(CsvError, match=r"XAUUSD\.csv:31: a spike: .* all less than 1/10 of "):
        load_csv(_write(tmp_path, lines))


def test_a_spike_in_a_file_written_newest_first_names_its_own_line(tmp_path: Path) -> None:
    """Read reversed: the neighbours are named in time order, the later line first."""
    lines = _gold(tmp_path, 60)
    lines = [lines[0], *reversed(lines[1:])]
    lines[10] = _scaled(lines[10], 50)
    with pytest.raises(CsvError, match=r"XAUUSD\.csv:11: a spike: .*on line 12, .*on line 10\)"):
        load_csv(_write(tmp_path, lines))


def test_a_spike_in_metatrader_4_lines_names_its_line(tmp_path: Path) -> None:
    """Every layout's bars are checked: here one without a header."""
    rows = [f"2024.01.02,{h:02d}:00,1.1,1.2,1.0,1.15,10" for h in range(6)]
    rows[3] = "2024.01.02,03:00,12.5,13,12,12.6,10"
    with pytest.raises(CsvError, match=r"XAUUSD\.csv:4: a spike: open 12\.5, high 13, "):
        load_csv(_write(tmp_path, rows))


@pytest.mark.parametrize(
    "shape",
    ["crash", "flash crash wick", "flash spike wick", "jump that stays", "first", "last"],
)
def test_moves_real_markets_make_are_read(tmp_path: Path, shape: str) -> None:
    """A crash of 99.9 % over a few bars, a wick to a thousandth of the price and back
    within the bar (ether on GDAX in 2017), a wick ten times up, a jump of 20 times that
    stays (a reverse split in unadjusted prices): real data, read as it is. A jump at the
    first or the last bar has one neighbour, so it cannot be told from a real one."""
    lines = _gold(tmp_path, 60)
    if shape == "crash":
        lines[20:] = [_scaled(line, 0.001 ** (min(i, 4) / 4)) for i, line in enumerate(lines[20:])]
    elif shape == "flash crash wick":
        lines[20] = _scaled(lines[20], 0.001, at=(3,))
    elif shape == "flash spike wick":
        lines[20] = _scaled(lines[20], 10, at=(2,))
    elif shape == "jump that stays":
        lines[20:] = [_scaled(line, 20) for line in lines[20:]]
    elif shape == "first":
        lines[1] = _scaled(lines[1], 100)
    else:
        lines[-1] = _scaled(lines[-1], 100)
    assert len(load_csv(_write(tmp_path, lines))) == 60


def test_a_price_below_zero_is_refused_saying_why_and_what_to_do(tmp_path: Path) -> None:
    """WTI's May future closed at -37.63 on 2020-04-20 (yfinance's ``CL=F``): it was
    refused as "low -40.32 is not a positive price", with no word of why or what then."""
    lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
    for day, (o, h, low, c) in enumerate(
        [(25.0, 25.5, 24.1, 24.6), (24.6, 24.9, 18.2, 18.3), (17.7, 17.9, -40.32, -37.63)]
    ):
        lines.append(f"2020-04-{16 + day},{o},{h},{low},{c},{c},100")
    _write(tmp_path, lines, "CL=F.csv")
    proc = hostapp(tmp_path, "replay", "--report", "r", "CL=F.csv")
    assert one_error_line(proc) == (
        "hostapp: CL=F.csv:4: low -40.32 is not a positive price: hostapp replays positive "
        "prices only; a series that went to or below zero needs a constant added to every "
        "price, or those rows cut out"
    )


def test_a_second_header_line_is_named_as_one(tmp_path: Path) -> None:
    """Two exports joined with ``cat``: the second's header read as a bar whose time was
    "not ISO 8601" (the environment probe), a puzzle. It is said to be a header line."""
    rows = "".join(f"2024-01-02 00:{m:02},1.1,1.2,1.0,1.15,1\n" for m in range(0, 30, 5))
    with pytest.raises(CsvError) as caught:
        load_csv(write_text(tmp_path, HEADER + rows + HEADER + rows))
    assert str(caught.value).endswith(
        ":8: time 'time' is a column's name: a second header line (two files joined into "
        "one?); remove it"
    )
