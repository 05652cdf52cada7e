"""One pooled HTTP connection to a DTMS server: the transport every client shares.

Why its own module: the public clients (:mod:`.aio`, :mod:`.sync`), the remote strategy's
outbox and the ``dtms`` operator verbs all speak to the same API with the same rules
(pooled connections, explicit timeouts, the bearer token from the environment, errors
classified as transient or not), so those rules live once, here.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import yarl

from hookspecs import masked_url

#: The server's default address (``dtms serve`` binds 127.0.0.1:8001).
DEFAULT_URL = "http://127.0.0.1:8001"
#: Where the token comes from, as the server reads its own ([plugin.dtms] token_env).
DEFAULT_TOKEN_ENV = "DTMS_TOKEN"
#: Where a client finds the server when none is given.
URL_ENV = "DTMS_URL"

#: The clients' option defaults, in seconds (both clients take them: one place to change)
DEFAULT_TIMEOUT = 2.0
DEFAULT_REGISTER_TIMEOUT = 5.0
DEFAULT_FRESH_SECONDS = 10.0
DEFAULT_LAST_KNOWN_SECONDS = 30.0
DEFAULT_QUERY_RETRY_SECONDS = 0.5

#: Statuses that say "try again later", not "your request is wrong". A 500 is the server's
#: own failure, never its refusal of a request (it answers bad input with a 4xx:
#: docs/client.md, "Errors"), so it is tried again as a 503 is, and a call whose retries
#: end on it is unreachable: the caller keeps what it sent (a close) to send it again.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Exceptions meaning the request may not have reached the server, or its answer was lost.
#: A ``ClientTimeout`` total raises the builtin ``TimeoutError``, which is no ClientError.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    aiohttp.ClientConnectionError,
    aiohttp.ClientPayloadError,
    TimeoutError,
)
#: Exceptions meaning the URL itself is unusable: no retry can help.
BAD_URL_ERRORS: tuple[type[BaseException], ...] = (
    aiohttp.InvalidURL,
    aiohttp.NonHttpUrlClientError,
    ValueError,
)
#: Any other failure of aiohttp's (an answer it could not parse, a ClientResponseError):
#: the answer came and cannot be used. Checked after the classes above, which are
#: ClientErrors too, so a call raises one of its own errors and never aiohttp's.
CLIENT_ERRORS: tuple[type[BaseException], ...] = (aiohttp.ClientError,)
#: Every exception :meth:`Connection.request` raises for a failed request (each class
#: above): the public client makes each a DtmsError of its own (``bodies.failure``).
REQUEST_ERRORS: tuple[type[BaseException], ...] = (
    *BAD_URL_ERRORS,
    *TRANSIENT_ERRORS,
    *CLIENT_ERRORS,
)
#: The most bytes of an answer read (256 MiB). The largest the server sends is a page of
#: ``GET /dtms/trades``: at most 1000 full trades (its ``limit`` cap), each with at most 60
#: journal entries and 20 warnings, tens of megabytes; even with a 64 KiB comment on every
#: trade (the server's body limit) about 100 MB. Without a bound, a wrong URL streaming
#: without end (a download, a misbehaving proxy) was read whole into memory (4.5 GB for an
#: answer of 1.5 GB) and decoded past the call's timeout.
MAX_ANSWER_BYTES = 256 * 1024 * 1024
#: Bytes read at a time: memory stays near what was read, never a copy of it all at once.
READ_CHUNK = 256 * 1024
#: A host name or IPv4 address as a URL names it: letters, digits, dots, hyphens and
#: underscores (a name in another script is IDNA-encoded to those by then). An IPv6
#: address (it has a colon) yarl has checked already.
_HOST = re.compile(r"[A-Za-z0-9._-]+")
#: A TLS handshake that failed: an https:// URL for a plain-HTTP server, or a certificate
#: this machine does not trust. A configuration problem, not a server that is down: the
#: public client says so once instead of retrying (these are ClientConnectionErrors too).
TLS_ERRORS: tuple[type[BaseException], ...] = (aiohttp.ClientSSLError,)
#: The most characters of an answer's text a message quotes (:attr:`Reply.gist`).
GIST_CHARS = 80
#: Per-host connection cap: a client's small concurrency plus a query.
CONNECTION_LIMIT = 8


class AnswerTooLarge(aiohttp.ClientPayloadError):
    """An answer longer than :data:`MAX_ANSWER_BYTES`: no DTMS answer is. A
    ClientPayloadError, so a caller that reads only the transient errors (the remote
    strategy's outbox) keeps what it sent; the public client says so, naming the limit."""

    def __init__(self, url: str, limit: int) -> None:
        super().__init__(
            f"{url}: the answer is longer than {limit:,} bytes, which no DTMS answer is"
        )
        self.url = url
        self.limit = limit


class NotUsableHere(RuntimeError):
    """The connection cannot make a request here (closed, or bound to another event
    loop): a programming error, never a server's answer. The public client raises it as
    its ``DtmsClientUnusable`` (a ``DtmsError`` too)."""


def token_from_env(token_env: str = DEFAULT_TOKEN_ENV) -> str | None:
    """The bearer token, read as the server reads its own: empty means none."""
    return os.environ.get(token_env) or None


def url_from_env(url: str | None = None) -> str:
    """The server's URL: ``url``, else ``$DTMS_URL``, else the default. One without its
    ``http://``, or without a host, is refused here, naming it as given: every call would
    fail. An empty ``url`` too: a setting read as "" is a mistake, and taking the default
    for it would talk to another server than the one meant (None asks for the default)."""
    if url is not None and not url.strip():
        raise ValueError(f"url: {url!r} is empty; give the server's URL, or None for ${URL_ENV}")
    where, chosen = ("url", url) if url is not None else (URL_ENV, os.environ.get(URL_ENV))
    chosen = chosen or DEFAULT_URL
    if not chosen.startswith(("http://", "https://")):
        raise ValueError(f"{where}: {chosen!r} is not an http:// or https:// URL")
    if not chosen.split("://", 1)[1].strip("/"):
        raise ValueError(f"{where}: {chosen!r} names no host (http://HOST:PORT)")
    problem = _unusable(chosen)
    if problem:
        raise ValueError(f"{where}: {chosen!r} is not a usable URL: {problem}")
    return chosen.rstrip("/")


def _unusable(url: str) -> str:
    """Why no request can be made to ``url`` (a port past 65535, an IPv6 address without
    its closing bracket, a host with a space), or "". Said when the client is made, as
    for a URL without ``http://``: every call would fail, each with aiohttp's words."""
    try:
        parsed = yarl.URL(url)
    except ValueError as exc:
        return str(exc)
    host = parsed.raw_host or ""
    labels = host.removesuffix(".").split(".")
    if ":" not in host and (not _HOST.fullmatch(host) or not all(labels)):
        return f"{host!r} is not a host name or address"
    if parsed.explicit_port == 0:
        return "port 0: no server listens on it"
    return ""


def seconds(name: str, value: object, *, zero_ok: bool = False) -> float:
    """``value`` as a finite number of seconds, above 0 (or 0 and above: ``zero_ok``);
    else a ValueError naming ``name``. Why: aiohttp reads a timeout of 0 or None as no
    bound at all, so a bounded call (``is_defensive``: 2 s) would wait as long as the
    server did, and text such as ``"2"`` would fail later, inside aiohttp."""
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if number is None or not math.isfinite(number) or number < 0 or (number == 0 and not zero_ok):
        wanted = "0 or more" if zero_ok else "above 0"
        raise ValueError(f"{name}: expected a number of seconds {wanted}, got {value!r}")
    return float(number)


def bound(timeout: float) -> aiohttp.ClientTimeout:
    """A request's whole time bound, ``timeout`` seconds exactly. Why not aiohttp's
    default: it rounds a bound of 5 s or more up to the next whole second of the loop's
    clock (``ceil_threshold``), so each 5 s try of a registration took 5 to 6 s and the
    times docs/client.md gives ("Options") did not hold."""
    return aiohttp.ClientTimeout(total=seconds("timeout", timeout), ceil_threshold=math.inf)


def describe(exc: BaseException) -> str:
    """A log-friendly one-liner; ``TimeoutError()`` has an empty message otherwise."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer, body already read (so the connection is back in the pool)."""

    status: int
    body: Any  # decoded JSON, or None when the body is not JSON
    text: str
    content_type: str = ""  # the Content-Type's media type, "" when none was sent
    location: str = ""  # a redirect's Location header, "" when none was sent

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def transient(self) -> bool:
        return self.status in TRANSIENT_STATUSES

    @property
    def message(self) -> str:
        """The server's own explanation: its ``message`` or ``error``, else :attr:`gist`."""
        if isinstance(self.body, dict):
            for key in ("message", "error"):
                if key in self.body:
                    return str(self.body[key])
        return self.gist

    @property
    def gist(self) -> str:
        """What came back, in one short line: the content type and the start of the text
        with its line breaks folded. Why: an answer that is not the server's (a proxy's or
        another web server's HTML page) would otherwise put a whole page into a message
        or a log line."""
        kind = self.content_type or "no content type"
        words = " ".join(self.text.split())
        if not words:
            return f"{kind}, empty"
        shown = words if len(words) <= GIST_CHARS else words[: GIST_CHARS - 3] + "..."
        return f"{kind}: {shown!r}"


class Connection:
    """HTTP calls to one DTMS server. ``open`` inside a running loop (an aiohttp session
    must be created in one); always ``close``."""

    def __init__(self, url: str, *, token: str | None, timeout: float) -> None:
        self.base = url.rstrip("/")
        #: the base as messages name it: a password in the URL is no message's
        self.shown = masked_url(self.base)
        self._token = token
        self._timeout = bound(timeout)
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the one the session is bound to

    async def open(self) -> None:
        if self._session is not None:
            return
        self._loop = asyncio.get_running_loop()
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        connector = aiohttp.TCPConnector(limit=CONNECTION_LIMIT, limit_per_host=CONNECTION_LIMIT)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self._timeout, headers=headers
        )

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    @property
    def is_open(self) -> bool:
        return self._session is not None

    def url(self, path: str) -> str:
        """``path``'s URL as messages name it (:attr:`shown`)."""
        return f"{self.shown}{path}"

    async def request(
        self,
        method: str,
        path: str,
        *,
        timeout: float | None = None,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Reply:
        """One request. Raises the ``TRANSIENT_ERRORS``, ``BAD_URL_ERRORS`` and
        ``CLIENT_ERRORS`` unchanged: the caller decides what they mean. A redirect is not
        followed: it is the answer (a DTMS server sends none to its client's paths), and
        following it sent a registration to a page that answered 200, read as done (a
        302 even turns the POST into a GET). At most :data:`MAX_ANSWER_BYTES` are read."""
        if self._session is None:
            raise NotUsableHere("DTMS connection used before open() or after close()")
        if self._loop is not asyncio.get_running_loop():  # a second asyncio.run, a fork
            raise NotUsableHere(
                "a DTMS client is bound to the event loop it first ran in: make one per "
                "asyncio.run (or use DtmsClient, which keeps its own loop)"
            )
        limit = self._timeout if timeout is None else bound(timeout)
        async with self._session.request(
            method, f"{self.base}{path}", json=json_body, params=params, timeout=limit,
            allow_redirects=False,
        ) as resp:  # fmt: skip
            raw = await _read(resp, self.url(path))
            text = raw.decode(_encoding(resp.charset), errors="replace")
            status = resp.status
            kind = resp.content_type if "Content-Type" in resp.headers else ""
            location = resp.headers.get("Location", "")
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = None
        return Reply(status, body, text, kind, location)


async def _read(resp: aiohttp.ClientResponse, url: str) -> bytearray:
    """The answer's bytes, at most :data:`MAX_ANSWER_BYTES` (read at call time, so a test
    can lower it), chunk by chunk: one longer (by its Content-Length, or as it streams) is
    :class:`AnswerTooLarge` once the limit is passed, before the rest is read. The request's
    timeout bounds the reading (a timer acts at each wait for data), but not the decoding
    after it, CPU work no timer interrupts (measured here: 200 MiB of JSON read in 0.9 s
    within a 1 s bound, then decoded in 0.6 s more): the cap is what bounds that."""
    cap = MAX_ANSWER_BYTES
    if resp.content_length is not None and resp.content_length > cap:
        raise AnswerTooLarge(url, cap)
    read = bytearray()
    async for chunk in resp.content.iter_chunked(READ_CHUNK):
        read += chunk
        if len(read) > cap:
            raise AnswerTooLarge(url, cap)
    return read  # not copied to bytes: one copy of the answer in memory, not two


def _encoding(charset: str | None) -> str:
    """The codec of an answer's declared charset; UTF-8 (JSON's own) when none is given or
    Python knows no codec of that name (``charset=utf8mb4``): the answer is still read,
    where decoding by that name raised a LookupError no caller expects."""
    if charset:
        try:
            return codecs.lookup(charset).name
        except LookupError:
            pass
    return "utf-8"


def no_answer(url: str, method: str, path: str, seconds: float) -> str:
    """A request not answered in time. A request that changes something may have been
    done all the same (a loaded server registered five batches of 200 its clients were
    told were "unreachable"): said so, with why sending it again is safe."""
    said = f"DTMS server at {url}: no answer to {method} {path} within {seconds:g} s"
    if method == "GET":
        return said
    return (
        f"{said}; the server may have done it all the same: registrations and close "
        "reports are idempotent by ticket, sending them again is safe (the remote "
        "strategy's outbox does)"
    )
