"""A registration's ``comment`` (docs/client.md, "Registering"): text kept with the trade
and shown in every answer about it, so bounded (``limits.MAX_COMMENT_CHARS``), and without
a control character (a NUL cuts it short in any C string, the broker's included).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from . import limits
from .coerce import FieldError, show


def parse_comment(body: Mapping[str, Any]) -> str:
    """``comment`` (default ""), or a 400 naming it. Longer than the cap, it is kept cut to
    the cap (the answer's ``trade_info`` shows what was kept), never refused: a comment is
    often the broker's position's, which its sender cannot change, and a refused
    registration would leave the trade undefended for a label."""
    comment = body.get("comment", "")
    if not isinstance(comment, str):
        raise FieldError("comment", f"expected a string, got {show(comment)}")
    if re.search(limits.CONTROL_CHAR, comment):
        raise FieldError(
            "comment", f"a control character (U+0000..U+001F, U+007F..U+009F): {show(comment)}"
        )
    return comment[: limits.MAX_COMMENT_CHARS]
