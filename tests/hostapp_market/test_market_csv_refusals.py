"""Files that are no bar files, or whose bars no market made, refused in one line naming
the file and the line before anything runs: a line too long to be a bar's (a file
without line breaks, ``/dev/zero``), a compressed file, and through the real command
too."""

import bz2
import gzip
import lzma
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hostapp_cli_errors.test_run_replay_errors import hostapp, one_error_line
from hostapp_loop.csvfiles import write_text

from hostapp.market.csvdata import CsvError, load_csv
from hostapp.market.csvlines import MAX_LINE_BYTES

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
