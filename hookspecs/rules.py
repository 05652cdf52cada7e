"""How the host calls each hook, as data: the rule table beside the specs (spec.py).

The PluginHost is driven by this table, so adding a hook is one spec in spec.py and one
row here (``tests/test_contract_rules.py`` checks that every spec has a row and every row
a spec). The docstrings of spec.py say the same in words, for plugin authors.

* ``combine``: what the host does with the answers. ``none``: nothing (a notification);
  ``flatten``: the lists of all plugins, in plugin order; ``first_veto``: the first
  non-None answer vetoes; ``any_true``: True if any plugin says True; ``by_plugin``: each
  plugin's answer under its name.
* ``fail_safe``: the answer that stands in for a plugin that raised or timed out;
  ``{error}`` in its texts is replaced by what went wrong. For ``first_veto`` it is the
  veto's reason, for ``by_plugin`` the plugin's answer (``None``: it says nothing), for
  ``flatten`` what the plugin contributes.
* ``sync_only``: an ``async def`` implementation is refused at registration.
* ``concurrent``: every plugin's implementation runs at once (``asyncio.gather``).
* ``fatal``: a raising plugin stops the host (configuration errors).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Combine = Literal["none", "flatten", "first_veto", "any_true", "by_plugin"]


@dataclass(frozen=True, slots=True)
class HookRule:
    combine: Combine
    fail_safe: Any = None
    sync_only: bool = False
    concurrent: bool = False
    fatal: bool = False


_BROADCAST = HookRule("none", concurrent=True)

HOOK_RULES: Mapping[str, HookRule] = {
    "configure": HookRule("none", sync_only=True, fatal=True),
    "startup": _BROADCAST,
    "shutdown": _BROADCAST,
    "propose_orders": HookRule("flatten", fail_safe=()),
    "allow_order": HookRule(
        "first_veto", fail_safe="failed ({error}); vetoed to be safe", sync_only=True
    ),
    "on_trade_executed": _BROADCAST,
    "on_cycle": _BROADCAST,
    "manage_positions": HookRule("none"),
    "is_defensive": HookRule("any_true", fail_safe=True, sync_only=True),
    "on_trade_closed": _BROADCAST,
    "on_state_change": _BROADCAST,
    "on_action": _BROADCAST,
    "run_report": HookRule("by_plugin", fail_safe={"error": "{error}"}, sync_only=True),
    "web_routes": HookRule("by_plugin", fail_safe=None, sync_only=True),
}

#: The hooks whose implementations must be plain functions (no ``async def``).
SYNC_ONLY_HOOKS = frozenset(name for name, rule in HOOK_RULES.items() if rule.sync_only)
