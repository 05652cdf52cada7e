"""A registration's ``comment`` (docs/client.md, "Registering"): text kept with the trade
and shown in every answer about it, so bounded (``limits.MAX_COMMENT_CHARS``), and without
a control character (a NUL cuts it short in any C string, the broker's included).

A comment kept cut is said in the registration's answer, in ``warnings``
(:func:`with_cut_note`): the 201 alone read as the comment kept as sent.
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


def cut_note(body: object) -> str | None:
    """The words saying the ``comment`` of registration ``body`` (one
    :func:`parse_comment` took) was kept cut to the cap, or None when it was kept whole."""
    comment = body.get("comment") if isinstance(body, Mapping) else None
    if not isinstance(comment, str) or len(comment) <= limits.MAX_COMMENT_CHARS:
        return None
    return f"comment: cut to {limits.MAX_COMMENT_CHARS} characters ({len(comment):,} sent)"


def with_cut_note(answer: dict[str, Any], body: object) -> dict[str, Any]:
    """``answer`` with ``warnings`` naming a comment kept cut (docs/client.md,
    "Registering"); unchanged, without ``warnings``, for every other registration, as the
    original server's clients read it."""
    note = cut_note(body)
    if note is None:
        return answer
    return {**answer, "warnings": [*answer.get("warnings", []), note]}
