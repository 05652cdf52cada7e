"""The settings the server's engine runs with, as ``GET /dtms/status`` shows them.

Why: a remote host's own ``[plugin.dtms]`` numbers (timeframes, thresholds, actions...)
are not used: the server's engine decides for every trade it holds. The host reads this
answer at start-up and says which of its settings differ (:mod:`dtms_plugin.remote_settings`),
instead of a trader believing the host's plugins.toml is in force.
"""

from __future__ import annotations

from typing import Any

from ..settings import DtmsSettings, in_force

#: The schema of ``/dtms/status``'s ``settings`` (:mod:`.openapi_status`).
SETTINGS_IN_FORCE: dict[str, Any] = {
    "type": "object",
    "description": "the [plugin.dtms] settings the server's engine runs with, under the"
    " dotted keys of summary.json (thresholds.to_hedge), the URLs' secrets masked, without"
    " state_dir; the timeframes as decided for the serving host once its engine started",
}


def settings_view(settings: DtmsSettings) -> dict[str, Any]:
    """``settings`` as :func:`dtms_plugin.settings.in_force` gives them (masked)."""
    return in_force(settings)
