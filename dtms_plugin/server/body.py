"""Reading a JSON request body that cannot raise anything but a 400 or a 413.

Why its own module: each step can fail in its own way, and each failure must be a 400
naming what was wrong (docs/architecture.md §9) instead of a 500: the size is bounded by
the app (``client_max_size``, a 413); the charset of ``Content-Type`` may name no codec
(LookupError) or one that is no text encoding; the bytes may not decode; the nesting
may be deep enough for ``json.loads`` to hit the recursion limit; an integer literal may
have more digits than Python converts (ValueError) or than a float holds (OverflowError).
A key given twice in one object is refused too: ``json.loads`` keeps the last silently, so
``{"ticket": 5004, "ticket": 5005}`` would register a trade the client may not mean.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from . import limits
from .coerce import key_name
from .validation import FieldError, show

#: The charsets a JSON body may come in (JSON is UTF-8; the rest are what clients send).
_CHARSETS = frozenset(
    {"utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "ascii",
     "latin-1", "iso8859-1", "cp1252"}
)  # fmt: skip
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


class InvalidJson(FieldError):
    """The body is not JSON (the middleware answers ``{"error": "invalid JSON"}``)."""


class UnreadBody(FieldError):
    """The body could not be read to its end (it does not decompress): the answer closes
    the connection, whose unread rest would otherwise be taken for the client's next
    request on it (a reset connection for a valid request, and a traceback in the log)."""


class UnsupportedEncoding(FieldError):
    """A ``Content-Encoding`` aiohttp does not decode (a 415 naming it): aiohttp reads a
    body of an encoding it does not know (``foo``, ``x-gzip``, ``gzip, deflate``) as
    plain bytes, so the client's compressed JSON would be answered as invalid JSON, or
    its text read as something it did not send."""


#: The body encodings aiohttp decodes (``br`` and ``zstd`` only with their libraries:
#: without them aiohttp refuses the request before the app sees it, hostapp/web_errors.py).
_DECODED = frozenset({"", "identity", "gzip", "deflate", "br", "zstd"})


def _encoding(request: web.Request) -> None:
    encoding = request.headers.get("Content-Encoding", "")
    if encoding.strip().lower() not in _DECODED:
        raise UnsupportedEncoding(
            "Content-Encoding",
            f"{encoding[:40]!r} is not decoded by this server;"
            " send the body as identity, gzip or deflate",
        )


def _codec(request: web.Request) -> str:
    charset = request.charset or "utf-8"
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        name = ""
    if name not in _CHARSETS:
        raise FieldError(
            "Content-Type", f"charset {charset[:40]!r} is not supported; send UTF-8 JSON"
        )
    return name


def nesting_depth(text: str) -> int:
    """The deepest ``[``/``{`` nesting of a JSON text, brackets inside strings not
    counted; computed without recursion so that any depth can be measured."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _parse_int(text: str) -> int | limits.LongNumber:
    digits = len(text.lstrip("-"))
    return limits.LongNumber(text) if digits > limits.MAX_INT_DIGITS else int(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose every key is given once; a 400 naming a key given twice (which of
    its values the client meant would be a guess; RFC 8259 leaves it unpredictable)."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise FieldError(
                key_name(key),
                f"given twice in one JSON object ({show(found[key])}, then {show(value)});"
                " send it once",
            )
        found[key] = value
    return found


def loads(text: str) -> Any:
    """``json.loads`` with the nesting and the integer literals bounded, and every key of
    an object given once."""
    if nesting_depth(text) > limits.MAX_DEPTH:
        raise FieldError("body", f"nested more than {limits.MAX_DEPTH} levels deep")
    try:
        value = json.loads(text, parse_int=_parse_int, object_pairs_hook=_unique_keys)
    except FieldError:  # a key given twice (a ValueError, which is not invalid JSON)
        raise
    except json.JSONDecodeError as exc:
        raise InvalidJson("body", str(exc)) from None
    except (ValueError, RecursionError) as exc:  # defensive: the bounds above prevent them
        raise InvalidJson("body", f"{type(exc).__name__}: {str(exc)[:80]}") from None
    return value


async def read_json(request: web.Request, *, limit: int | None = None, empty: Any = None) -> Any:
    """The request body as JSON, or a 400 that says why not (a 413 when larger than
    ``limit`` bytes, or than the app's ``client_max_size``). ``empty``: what a body of
    nothing (or only spaces) reads as, for a route whose fields are all optional; None:
    a 400."""
    codec = _codec(request)
    _encoding(request)
    length = request.content_length
    if limit is not None and length is not None and length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=length)
    try:
        raw = await request.read()
    except HttpProcessingError as exc:  # e.g. a body that does not decompress
        raise UnreadBody("body", f"could not be read: {exc.message}") from None
    except web.RequestPayloadError as exc:  # a gzip or deflate body that is not
        encoding = request.headers.get("Content-Encoding", "")
        raise UnreadBody("Content-Encoding", f"{encoding!r} body does not decode: {exc}") from None
    except ConnectionResetError:  # the client left mid-upload: its fault, not the server's
        raise FieldError("body", "the client closed the connection before sending it all") from None
    if limit is not None and len(raw) > limit:  # a chunked body says no length first
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(raw))
    try:
        text = raw.decode(codec)
    except UnicodeError:
        what = "not UTF-8 text" if codec == "utf-8" else f"not {codec} text"
        raise FieldError("body", what) from None
    # a byte order mark is no JSON, but Windows tools (PowerShell, Notepad) put one
    # before UTF-8 text: it says nothing about the body, so it is dropped
    text = text.removeprefix("\ufeff")
    if not text.strip():
        if empty is not None:
            return empty
        raise FieldError("body", "empty; expected a JSON object")
    try:
        return loads(text)
    except InvalidJson as exc:
        if request.content_type in _FORMS:  # curl -d sends JSON as a form, which is fine
            raise InvalidJson(
                "body", f"{exc.reason}: send a JSON object (Content-Type: application/json)"
            ) from None
        raise


#: what a browser form or ``requests``' ``data=`` sends instead of JSON
_FORMS = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
