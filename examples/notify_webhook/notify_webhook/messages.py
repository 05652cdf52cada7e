"""What goes over the wire: the message bodies a receiver reads, the webhook URL's
checks, and what a receiver's answer asks (its wait) or a failed post was (in words that
never hold the URL). The plugin, :mod:`notify_webhook.plugin`, queues and sends them."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from hookspecs import Action, ActionResult, DefensiveState

#: The most characters Discord shows in one message's ``content``.
MAX_TEXT = 2000
#: ``Action.source`` of DTMS's actions, and how a message names it.
DTMS = "dtms"


def url_problem(url: str) -> str:
    """What is wrong with a webhook URL, in the words that follow ``key 'url': `` ("" when
    nothing): checked at ``configure``, as a URL without a host (``https://``) would fail
    every message at run time instead. The scheme in any case (``HTTPS://``), as URLs are
    read. Never the URL's text: its path is a webhook's token."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # a port that is no number raises here
    except ValueError as exc:
        return _unparsed(url, exc)
    if parts.scheme not in ("http", "https"):  # urlsplit gives the scheme in lower case
        return "expected an http(s) webhook URL"
    if not parts.hostname:
        return "expected an http(s) webhook URL with a host"
    return ""


def _unparsed(url: str, exc: ValueError) -> str:
    """Why ``urlsplit`` refused ``url``, in words: a port that is no number, or the square
    brackets of an IPv6 host (``http://[::1]:8080/…``) unbalanced or holding no address.
    Not Python's own text: it may quote the host, and names no fix."""
    if str(exc).startswith("Port"):
        return "expected an http(s) webhook URL with a valid port (a number up to 65535)"
    netloc = url.partition("://")[2] if "://" in url else url
    for end in "/?#":
        netloc = netloc.split(end, 1)[0]
    written = "an IPv6 host is written in brackets, as http://[::1]:8080/…"
    if "[" in netloc and "]" not in netloc:
        return f"the host's '[' is never closed by ']' ({written})"
    if "]" in netloc and "[" not in netloc:
        return f"the host has a ']' without its '[' ({written})"
    return f"the host's brackets hold no IPv6 address ({written})"


def body(text: str, event: dict[str, Any]) -> dict[str, Any]:
    """What Discord (``content``), Slack (``text``) and a generic receiver (``event``)
    each read. A text longer than Discord takes is cut, with an ellipsis: Discord answers
    a longer ``content`` with a 400, which is never retried, so the alert would be lost
    (a plugin's action reason can be that long); ``event`` keeps every field whole."""
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 1] + "…"
    return {"content": text, "text": text, "event": event}


def state_change_message(
    ticket: int, old: DefensiveState, new: DefensiveState, reason: str
) -> dict[str, Any]:
    text = f"DTMS ticket {ticket}: {old.value} → {new.value}" + (f" ({reason})" if reason else "")
    event = {"type": "state_change", "ticket": ticket, "from": old.value, "to": new.value,
             "reason": reason}  # fmt: skip
    return body(text, event)


def action_message(action: Action, result: ActionResult) -> dict[str, Any]:
    outcome = "done" if result.ok else f"failed ({result.code.value}: {result.message})"
    params = ", ".join(f"{k} {v}" for k, v in action.params.items())
    who = "DTMS" if action.source == DTMS else (action.source or "an unnamed plugin")
    text = f"{who} ticket {action.ticket}: {action.kind.value}" + (f" {params}" if params else "")
    event = {"type": "action", "source": action.source, "ticket": action.ticket,
             "kind": action.kind.value, "params": dict(action.params), "ok": result.ok,
             "code": result.code.value, "reason": action.reason}  # fmt: skip
    return body(f"{text}: {outcome}", event)


def retry_after(headers: Mapping[str, str], content: bytes) -> float | None:
    """The wait a receiver asked for, in seconds: the ``Retry-After`` header (seconds or an
    HTTP date) or Discord's ``{"retry_after": seconds}`` body, the longer of the two."""
    asked = [wait_seconds(headers.get("Retry-After"))]
    try:
        parsed = json.loads(content) if content else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        asked.append(wait_seconds(parsed.get("retry_after")))
    known = [a for a in asked if a is not None]
    return max(known) if known else None


def wait_seconds(value: object) -> float | None:
    """A wait in seconds from a header or JSON value (a number, or an HTTP date)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        wait = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        try:
            wait = (parsedate_to_datetime(str(value)).timestamp()) - time.time()
        except (TypeError, ValueError):
            return None
    return max(0.0, wait) if wait == wait else None  # NaN: no answer


def post_problem(exc: BaseException) -> str:
    """What went wrong with a post, never aiohttp's text of it: the text of some errors
    (too many redirects, a connection timeout) holds the whole URL, and a webhook's path
    is its token. The error's type, its HTTP status, and the system's reason a connection
    failed ("Connect call failed ('127.0.0.1', 9)") say enough."""
    what = type(exc).__name__
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status:
        what += f" {status}"
    reason = getattr(getattr(exc, "os_error", None), "strerror", None)
    if isinstance(reason, str) and reason:
        what += f" ({reason})"
    return what
