"""docs/architecture.md §6 lists the exit manager's ``[plugin.exits]`` keys: every field of
:class:`hostapp.exit_settings.ExitSettings` has a row with its default as TOML writes it,
and the table lists no key the plugin does not read."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from hostapp.exit_settings import ExitSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
ROW = re.compile(r"^\s*\| `(\w+)` \| `([^`]*)` \|", re.MULTILINE)


def _toml(value: object) -> str:
    return json.dumps(value) if isinstance(value, bool | str) else repr(value)


def test_every_exit_setting_is_documented_with_its_default() -> None:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("Its settings, `[plugin.exits]`")
    rows = dict(ROW.findall(text[start : text.index("## 7.", start)]))
    fields = {f.name: _toml(f.default) for f in dataclasses.fields(ExitSettings)}
    assert rows == fields
