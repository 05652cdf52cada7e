"""A trade record's stored form, encoded fast: what :class:`~.local_writes.PendingWrites`
writes for each changed record at a flush.

Why a module of its own: a cycle that re-scores a thousand trades writes a thousand
records, and building each record's dict to encode it was most of a flush's cost; here
orjson encodes the dataclass itself, to the same JSON ``TradeRecord.to_json`` gives
(tests/dtms_store/test_record_json.py pins that). How a record is encoded is a concern
apart from when and how the writes are gathered and committed (local_writes.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from .engine import TradeRecord
from .store import Encoded


def record_json(
    rec: TradeRecord, at: datetime, score: dict[str, Any] | None = None
) -> dict[str, Any] | Encoded:
    """The stored form of ``rec`` changed at ``at``: ``rec.to_json()`` plus ``updated_at``
    and its newest ``score``, encoded once, straight from the dataclass (orjson writes
    the same fields in the same order, times in the same ISO form, enums as values, at a
    tenth of the cost of building the dict and encoding it). A record holding a float
    that JSON cannot carry takes the slow path, whose encoder refuses it loudly."""
    if not math.isfinite(sum(_floats(rec))):  # NaN or ±inf anywhere makes the sum so
        data = rec.to_json()
        data["updated_at"] = at.isoformat()
        if score is not None:
            data["score"] = score
        return data
    text = orjson.dumps(rec, default=_plain)[:-1] + b',"updated_at":' + orjson.dumps(at)
    if score is not None:
        text += b',"score":' + orjson.dumps(score, default=_plain)
    return Encoded((text + b"}").decode())


def _floats(rec: TradeRecord) -> tuple[float, ...]:
    return tuple(
        v
        for v in (
            rec.volume,
            rec.initial_volume,
            rec.entry_price,
            rec.initial_sl,
            rec.r,
            rec.stop_loss,
            rec.take_profit,
            rec.hedge_volume,
            rec.closed_volume,
            rec.last_eval_price,
            rec.last_score,
            rec.realised_profit,
        )
        if v is not None
    )


def _plain(value: object) -> object:
    """What orjson does not encode by itself: a read-only mapping (journal params)."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")
