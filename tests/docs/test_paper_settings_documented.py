"""README shows every key of ``[host.paper]`` a user sets, with the default the code
has: ``balance``, ``currency`` and ``margin_mode`` were undocumented, while the starting
balance decides risk sizing, the drawdown % and when DTMS's daily-loss rail fires."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

from hostapp.brokers.paper_rules import PaperSettings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"^```toml\n(\[host\.paper\]\n.*?)^```", re.M | re.S)
#: documented elsewhere in README: the live account's file, the symbols' own tables
ELSEWHERE = {"account_file", "symbols"}


def test_readme_shows_each_paper_key_with_its_default() -> None:
    shown: dict[str, object] = {}
    for block in BLOCK.findall(README):
        shown.update(tomllib.loads(block)["host"]["paper"])
    defaults = PaperSettings()
    keys = {f.name for f in dataclasses.fields(PaperSettings)} - ELSEWHERE
    assert keys <= set(shown), f"README shows no [host.paper] {sorted(keys - set(shown))}"
    for key in keys:
        assert shown[key] == getattr(defaults, key), key
        assert f"`{key}" in README  # and said in words, not only shown
