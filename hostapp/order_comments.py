"""The comments of proposed orders the host clears (docs/plugins.md, "Reserved comments").

A position whose comment starts with ``DTMS_HEDGE_<ticket>`` or ``DTMS_READD_<ticket>``
(:data:`hookspecs.types.RESERVED_COMMENTS`) was opened on behalf of trade ``<ticket>``: the
reports add it to that trade (``hostapp.outcomes.parent_ticket``), trade managers leave it
alone, and DTMS, its records lost, takes a ``DTMS_HEDGE_`` one for one of its hedges. A
strategy's entry with such a comment was counted as a part of another trade: never closed
as a trade of its own (``close_reason=open`` in trades.csv for positions that closed) and
the counts of opened and closed trades did not agree. So the host clears the comment, as it
replaces a ``source`` that names another plugin (:meth:`hostapp.pluginhost.PluginHost.claimed`).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from hookspecs import OrderRequest
from hookspecs.types import RESERVED_COMMENTS

from .logs import ONCE


def reserved(comment: str) -> bool:
    """Does ``comment`` start with a prefix the host keeps for its own positions?"""
    return comment.startswith(RESERVED_COMMENTS)


class ReservedComments:
    """Clears reserved comments of proposed orders, saying so once per plugin."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        #: the plugins already told of (one WARNING each, for all their orders)
        self._said: set[str] = set()

    def cleared(self, plugin: str, order: OrderRequest) -> OrderRequest:
        """``order`` without its comment when the comment is reserved; else ``order``."""
        if not reserved(order.comment):
            return order
        if plugin not in self._said:
            self._said.add(plugin)
            self._log.warning(
                "plugin %s: an order it proposed has the comment %r, whose prefix the host "
                "keeps for the positions of hedges and re-adds (%s); the host clears it, "
                'for this and every later one (docs/plugins.md, "Reserved comments")',
                plugin,
                order.comment,
                ", ".join(RESERVED_COMMENTS),
                extra={ONCE: True},  # the terminal too, once for all the runs of an A/B
            )
        return replace(order, comment="")
