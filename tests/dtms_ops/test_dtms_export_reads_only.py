"""``dtms export`` as a real process only reads the store: the database's bytes and time,
the folder's mode and a settings row it did not write are as they were; a file that is not
a DTMS store (garbage, another program's SQLite) is left where it is, untouched, in one
line naming the folder with exit 2 (docs/dtms.md §8)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from support.e2e_procs import dtms_export

from dtms_plugin.store import Store


def _fingerprint(db: Path) -> tuple[str, int]:
    return hashlib.sha256(db.read_bytes()).hexdigest(), db.stat().st_mtime_ns


def _config(folder: Path, state: Path) -> None:
    (folder / "plugins.toml").write_text(f'[plugin.dtms]\nstate_dir = "{state}"\n')


def test_an_export_leaves_the_store_exactly_as_it_was(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with Store(state) as store:
        store.put_record(7, {"ticket": 7, "state": "CLOSED", "owed": [],
                             "closed_at": "2026-01-05T00:00:00+00:00"})  # fmt: skip
        # a row the store did not write: a writer resets it on open, a reader must not
        store._cache._sql("INSERT INTO Settings (key, value) VALUES ('planted', 1)")
    state.chmod(0o755)
    before = _fingerprint(state / "cache.db")
    _config(tmp_path, state)
    proc = dtms_export(tmp_path, "--since", "2026-01-01")
    assert proc.returncode == 0, proc.stderr
    assert [line[:12] for line in proc.stdout.splitlines()] == ['{"actions":[']
    assert "mode" not in proc.stderr and "tightening" not in proc.stderr, proc.stderr
    assert _fingerprint(state / "cache.db") == before
    assert state.stat().st_mode & 0o777 == 0o755
    con = sqlite3.connect(state / "cache.db")
    assert con.execute("SELECT value FROM Settings WHERE key = 'planted'").fetchone() == (1,)
    con.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plugins.toml", "state"]


def test_a_file_that_is_not_a_database_is_left_where_it_is(tmp_path: Path) -> None:
    state = tmp_path / "wrong"
    state.mkdir()
    (state / "cache.db").write_text("garbage\n")
    _config(tmp_path, state)
    proc = dtms_export(tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert str(state) in proc.stderr and "moved" not in proc.stderr
    assert (state / "cache.db").read_text() == "garbage\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plugins.toml", "wrong"]
    assert [p.name for p in state.iterdir()] == ["cache.db"]


def test_another_programs_sqlite_is_not_touched(tmp_path: Path) -> None:
    state = tmp_path / "other"
    state.mkdir()
    con = sqlite3.connect(state / "cache.db")
    con.execute("CREATE TABLE notes (body TEXT)")
    con.execute("INSERT INTO notes VALUES ('mine')")
    con.commit()
    con.close()
    before = _fingerprint(state / "cache.db")
    _config(tmp_path, state)
    proc = dtms_export(tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "not a DTMS store" in proc.stderr
    assert str(state) in proc.stderr
    assert _fingerprint(state / "cache.db") == before
    con = sqlite3.connect(f"file:{state / 'cache.db'}?mode=ro", uri=True)
    tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
    con.close()
    assert tables == {"notes"}
