"""``dtms export --out FILE`` as a real process: FILE is written whole or not at all. An
existing FILE is refused without ``--force`` (an empty range never wipes an archive), is
replaced only once the export has succeeded with it, a write that fails half-way leaves no
file and no temporary one, and ``--out -`` is standard output (docs/dtms.md §8)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
from pathlib import Path

import pytest
from support.e2e_procs import command, dtms_export

from dtms_plugin.store import Store

PAD = "x" * 1500  # a line of about 1.6 kB


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Forty trades closed on 2026-01-05, and plugins.toml naming their store."""
    with Store(tmp_path / "state") as store:
        closed = "2026-01-05T00:00:00+00:00"
        for ticket in range(1, 41):
            store.put_record(ticket, {"ticket": ticket, "state": "CLOSED", "owed": [],
                                      "closed_at": closed, "pad": PAD})  # fmt: skip
    (tmp_path / "plugins.toml").write_text(f'[plugin.dtms]\nstate_dir = "{tmp_path / "state"}"\n')
    return tmp_path


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_an_existing_file_is_refused_and_left_as_it_was(folder: Path) -> None:
    keep = folder / "keep.jsonl"
    keep.write_text("precious\n")
    empty = dtms_export(
        folder, "--since", "2020-01-01", "--until", "2021-01-01", "--out", str(keep)
    )
    full = dtms_export(folder, "--out", str(keep))
    for proc in (empty, full):
        assert proc.returncode == 2 and proc.stdout == ""
        assert proc.stderr.count("\n") == 1 and "exists; --force replaces it" in proc.stderr
    assert keep.read_text() == "precious\n"
    assert _names(folder) == ["keep.jsonl", "plugins.toml", "state"]


def test_force_replaces_it_once_the_export_succeeded_keeping_its_mode(folder: Path) -> None:
    keep = folder / "keep.jsonl"
    keep.write_text("precious\n")
    keep.chmod(0o640)
    proc = dtms_export(folder, "--out", str(keep), "--force")
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["ticket"] for line in keep.read_text().splitlines()] == [*range(1, 41)]
    assert keep.stat().st_mode & 0o777 == 0o640
    assert "40 closed trades" in proc.stderr
    empty = dtms_export(
        folder, "--since", "2020-01-01", "--until", "2021-01-01", "--out", str(keep), "--force"
    )
    assert empty.returncode == 0 and "0 closed trades" in empty.stderr
    assert keep.read_text() == ""  # asked for: replaced by the empty range
    assert _names(folder) == ["keep.jsonl", "plugins.toml", "state"]


def test_a_write_that_fails_half_way_leaves_no_file(folder: Path) -> None:
    """A full disk, as a file size limit: the 40 lines need 64 kB, 40 kB may be written."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOSTAPP_", "DTMS_"))}
    dtms_export(folder, "--out", "-")  # SQLite's reader files, made before the limit

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))

    proc = subprocess.run(
        [*command("dtms"), "export", "--out", "out.jsonl"], cwd=folder, env=env,
        capture_output=True, text=True, timeout=60, preexec_fn=limit,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("dtms export: cannot write out.jsonl (left as it was)")
    assert not (folder / "out.jsonl").exists()
    assert _names(folder) == ["plugins.toml", "state"]


def test_out_dash_is_standard_output(folder: Path) -> None:
    proc = dtms_export(folder, "--out", "-")
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 40
    assert not (folder / "-").exists()


@pytest.mark.parametrize("out", ["", " "])
def test_an_empty_out_is_refused_in_one_line(folder: Path, out: str) -> None:
    """``--out ''`` read as the folder ".": "dtms export:  exists; --force replaces it",
    and with --force "cannot write  (left as it was)"."""
    for force in ([], ["--force"]):
        proc = dtms_export(folder, "--out", out, *force)
        assert proc.returncode == 2 and proc.stdout == ""
        assert proc.stderr == (
            f"dtms export: --out {out!r} names no file; give a file name, or - (the default)"
            " for standard output\n"
        )
    assert _names(folder) == ["plugins.toml", "state"]


def test_the_summary_says_which_closes_it_exported(folder: Path) -> None:
    """It read "40 closed trades (the first to 2026-…)"."""
    proc = dtms_export(folder, "--until", "2026-02-01", "--out", "all.jsonl")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith(
        "dtms export: 40 closed trades (closed before 2026-02-01T00:00:00+00:00) from "
    ), proc.stderr
    proc = dtms_export(folder, "--since", "2026-01-05", "--until", "2026-01-06")
    assert proc.stderr.startswith(
        "dtms export: 40 closed trades (closed from 2026-01-05T00:00:00+00:00, before"
        " 2026-01-06T00:00:00+00:00) from "
    ), proc.stderr
