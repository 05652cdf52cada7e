"""A remote host's own ``[plugin.dtms]`` settings that the server does not use.

Why: with ``strategy = "remote"`` the server's engine decides for every trade a host hands
it, on the server's timeframes, thresholds, actions and trail; the host's own numbers for
them are read and parsed but used nowhere. A trader who edits them in the host's
plugins.toml would otherwise believe them in force. At start-up the host compares them
with the settings ``GET /dtms/status`` says the server runs with and says, in one
WARNING, which of its own differ and are not used (docs/client.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hookspecs import masked_url

from .settings import DtmsSettings, engine_setting, in_force


def not_in_force(ours: DtmsSettings, theirs: Mapping[str, Any]) -> list[str]:
    """This host's engine settings that differ from the server's ``theirs`` (its
    ``/dtms/status`` ``settings``), each as ``key = ours (the server's: theirs)``; a key
    the server does not say, or says blank (a timeframe not yet decided), is left out."""
    out = []
    mine = in_force(ours)  # the timeframes as the engine would use them (``fast``)
    mine.update(fast_timeframe=ours.fast.value, signal_timeframe=ours.signal.value)
    for key, value in mine.items():
        if not engine_setting(key) or key not in theirs:
            continue
        server = theirs[key]
        if server in ("", None) and key.endswith("_timeframe"):
            continue
        if _plain(value) != _plain(server):
            out.append(f"{key} = {_shown(value)} (the server's: {_shown(server)})")
    return out


def warning(ours: DtmsSettings, theirs: Any) -> str | None:
    """The start-up WARNING's text, or None when nothing differs or the server does not
    say its settings (an older server)."""
    if not isinstance(theirs, Mapping):
        return None
    differ = not_in_force(ours, theirs)
    if not differ:
        return None
    server = masked_url(ours.api_url)
    return (
        f"DTMS: {len(differ)} of this host's [plugin.dtms] settings differ from those the"
        f" server at {server} runs with and are not used (the server's engine decides for"
        f" the trades this host hands it; the server's are in force): {'; '.join(differ)}"
    )


def _plain(value: Any) -> Any:
    """JSON's view of ``value``: tuples as lists, 3 and 3.0 alike."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def _shown(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)
