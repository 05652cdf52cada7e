"""The volumes of actions the host refuses before any broker call (docs/plugins.md,
"Volumes of actions").

``allow_order`` is asked of new entries only (a strategy's orders, a ``re_add``): a
partial close and a hedge are taken to reduce or offset exposure. Two volumes would
break that, and a broker carries both out without a word: a partial close at or above the
position's volume closes it all (and the result says "closed 1.19 of 42", a success), and
a hedge above it opens the excess as a new position the other way, a fresh entry no guard
was asked about. DTMS never sends either (its partial leaves at least the symbol's minimum
open, its hedge is at most the open volume: dtms_plugin/engine/volumes.py), nor does the
exit manager (``hostapp.exits``), so only another plugin's mistake is refused.
"""

from __future__ import annotations

from hookspecs import Action, ActionKind, ActionResult, ResultCode, Trade
from hookspecs.types import params_problem

#: Volumes this close are the same (a broker's volumes are steps of 0.01 lots or coarser;
#: the MetaTrader adapter tells a part from the whole by the same margin).
SAME_VOLUME = 1e-9

#: The kinds whose ``volume`` is checked against the position's.
CHECKED = (ActionKind.PARTIAL_CLOSE, ActionKind.HEDGE)


def volume_refusal(action: Action, position: Trade) -> ActionResult | None:
    """The failed result for ``action`` on ``position`` when its volume is one the host
    refuses; ``None`` otherwise (an action of another kind too, and one whose params
    are wrong, which :func:`~hookspecs.apply_action` refuses in its own words)."""
    if action.kind not in CHECKED or params_problem(action) is not None:
        return None
    asked = float(action.params["volume"])
    held = position.volume
    where = f"position {action.ticket}'s open volume {held:g}"
    if action.kind is ActionKind.PARTIAL_CLOSE and asked >= held - SAME_VOLUME:
        return ActionResult.failure(
            ResultCode.REJECTED,
            f"partial_close: params['volume'] {asked:g} is at or above {where}: a part "
            "must leave some open (a broker would close it all); send a close to close it all",
        )
    if action.kind is ActionKind.HEDGE and asked > held + SAME_VOLUME:
        return ActionResult.failure(
            ResultCode.REJECTED,
            f"hedge: params['volume'] {asked:g} is above {where}: the excess "
            f"{asked - held:g} would be a new position the other way, not a hedge",
        )
    return None
