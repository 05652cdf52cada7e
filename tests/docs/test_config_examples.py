"""Every TOML example the README, docs/ and the example plugins' READMEs show is one a
user can paste: it parses, a ``[host]`` example is accepted by the host over the shipped
plugins.toml, a ``[plugin.NAME]`` example by that plugin's own settings, and an entry-point
example names the module its package really declares. An example that drifted from the
code (a renamed key, a bound tightened) fails here, not in a user's first run."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from atr_trailing.plugin import Settings as AtrSettings
from notify_webhook.plugin import Settings as WebhookSettings
from sma_strategy.plugin import Settings as SmaSettings
from support.e2e_procs import toml_value

from dtms_plugin.settings import DtmsSettings
from hookspecs import parse_settings
from hostapp.config import load_config

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(
    [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "examples").glob("*/README.md")]
)
BLOCK = re.compile(r"^```toml\n(.*?)^```", re.M | re.S)
#: a key an example shows commented out, with its default or an example value
OPTIONAL = re.compile(r"^# (\w+ = )", re.M)
#: the settings class of each plugin whose table an example shows
SETTINGS: dict[str, type] = {
    "dtms": DtmsSettings,
    "sma_strategy": SmaSettings,
    "atr_trailing": AtrSettings,
    "notify_webhook": WebhookSettings,
}
#: a plugin the guide writes from scratch (docs/plugins.md): its example is its own
GUIDE_PLUGINS = {"max_open_trades"}


def _examples() -> Iterator[Any]:
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for m in BLOCK.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            yield pytest.param(m.group(1), id=f"{page.relative_to(ROOT)}:{line}")


EXAMPLES = list(_examples())


def test_the_pages_show_examples() -> None:
    assert len(EXAMPLES) >= 12  # the glob and the pattern still find them


@pytest.mark.parametrize("block", EXAMPLES)
def test_a_toml_example_is_what_the_code_accepts(block: str, tmp_path: Path) -> None:
    block = OPTIONAL.sub(r"\1", block)  # the optional keys shown commented out, too
    table = tomllib.loads(block)
    project = table.pop("project", None)
    if project is not None:
        (name, target), *_ = project["entry-points"]["hostapp"].items()
        module = target.partition(":")[0]
        if name not in GUIDE_PLUGINS:
            declared = ROOT / "examples" / name / "pyproject.toml"
            points = tomllib.loads(declared.read_text(encoding="utf-8"))["project"]
            assert points["entry-points"]["hostapp"][name] == target, declared
            assert (ROOT / "examples" / name / (module.replace(".", "/") + ".py")).exists()
    for name, settings in table.pop("plugin", {}).items():
        if name in GUIDE_PLUGINS:
            continue
        assert name in SETTINGS, f"an example shows [plugin.{name}]: add its settings here"
        parse_settings(SETTINGS[name], settings, f"[plugin.{name}]")
    if "host" in table or "plugins" in table:
        shipped = (ROOT / "plugins.toml").read_text(encoding="utf-8")
        config = tmp_path / "plugins.toml"
        config.write_text(_merged(shipped, block), encoding="utf-8")
        load_config(config)
        table.pop("host", None)
        table.pop("plugins", None)
    assert not table, f"tables no check covers: {sorted(table)}"


def _merged(shipped: str, block: str) -> str:
    """The shipped plugins.toml with the example's tables in place of its own: what a user
    who pastes the example over the file's tables gets."""
    base = tomllib.loads(shipped)
    for key, value in tomllib.loads(block).items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_update(base[key], value)
        else:
            base[key] = value
    return _dumps(base)


def _deep_update(into: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_update(into[key], value)
        else:
            into[key] = value


def _dumps(table: dict[str, Any], prefix: str = "") -> str:
    """A minimal TOML writer for the plain tables of plugins.toml (strings, numbers,
    booleans, lists of those, nested tables)."""
    plain = [f"{k} = {toml_value(v)}" for k, v in table.items() if not isinstance(v, dict)]
    out = ([f"[{prefix}]"] if prefix and plain else []) + plain
    for key, value in table.items():
        if isinstance(value, dict):
            out.append(_dumps(value, f"{prefix}.{key}" if prefix else key))
    return "\n".join(out) + "\n"


def test_the_guide_log_event_example_writes_its_fields_as_json() -> None:
    """docs/plugins.md's ``log_event`` example, run as written inside a hook's body (its
    ``order``; the plugin's own logger): the ``--log-json`` formatter writes the event and
    fields, under the plugin's name."""
    import io
    import json
    import logging

    from hookspecs import OrderRequest
    from hookspecs.events import JsonFormatter

    guide = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = guide[guide.index("## Logging events") :]
    code = re.search(r"^```python\n(.*?)^```", section, re.M | re.S)
    assert code is not None and "log_event(" in code.group(1)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("max_open_trades")  # the guide's plugin's
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        exec(code.group(1), {"order": OrderRequest("XAUUSD", "buy", 0.1)})
    finally:
        log.removeHandler(handler)
        log.setLevel(logging.NOTSET)
    line = json.loads(out.getvalue())
    assert line["event"] == "veto" and line["message"] == "vetoed buy XAUUSD"
    assert line["logger"] == "max_open_trades"
    assert (line["symbol"], line["reason"]) == ("XAUUSD", "too many open trades")
