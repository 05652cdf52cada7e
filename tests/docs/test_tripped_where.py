"""The docs said ``hostapp plugins`` lists a plugin that tripped its breaker; it runs in a
process of its own and never sees a run's breaker. They say where it is shown: the run's
notes (``host_notes`` of summary.json)."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _one_line(path: Path) -> str:
    return " ".join(path.read_text(encoding="utf-8").split())


def test_the_docs_say_a_tripped_breaker_is_in_the_runs_notes_not_the_listing() -> None:
    plugins, architecture = _one_line(DOCS / "plugins.md"), _one_line(DOCS / "architecture.md")
    assert "failed to load or tripped its breaker says why" not in plugins
    assert "`hostapp plugins` lists it so" not in architecture
    for text in (plugins, architecture):
        assert "cannot see a run's breaker" in text or "never sees a run's breaker" in text
        assert "`host_notes` of" in text and "summary.json" in text
