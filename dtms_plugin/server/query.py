"""The query strings of the API's GET routes: which parameters each takes, what an empty
value means, and the parameters of ``GET /dtms/actions``, read the same by ``dtms serve``
and a host's routes.

Why a parameter a route does not take is a 400 on every route, not only on
``GET /dtms/trades``: a parameter silently ignored reads as obeyed (``?since=`` on the
history answered the whole of it, as if nothing older were kept), and one route refusing
what its neighbour ignores is a rule a client cannot learn (docs/client.md, "Asking").
The dashboard's page and its assets are not the API: a browser's bookmark or a cache
buster may add a query to them, which they ignore; nor is ``GET /health`` a question with
parameters: uptime monitors add a cache buster (``?t=123``), and a 400 read as the
server down, so it ignores its query too.

Why an empty value is a parameter not given: the API's own template (docs/client.md,
``GET /dtms/actions?ticket=&limit=``) and the URLs programs written for the original DTMS
build from a form leave a parameter empty to mean "any ticket" or "the default limit";
refusing them with a 400 broke those programs. The OpenAPI document says so on every
optional query parameter (``allowEmptyValue``), so the schemathesis run holds the server
to it. Only an empty value is dropped: ``limit=%20`` is no integer, still a 400.
"""

from __future__ import annotations

from collections.abc import Collection

from multidict import MultiDict, MultiMapping

from .validation import FieldError, parse_limit, parse_ticket_text

#: The most entries of ``GET /dtms/actions``; a larger ``limit`` reads as this.
MAX_ACTIONS_LIMIT = 1000

#: The parameters of ``GET /dtms/actions`` (the OpenAPI document lists the same).
ACTIONS_PARAMETERS = ("ticket", "limit")

#: ``GET /dtms/actions``'s entries when no ``limit`` is given: the original server's
#: (its newest 10). Its clients ask with no parameter (a chat tool hands the answer to a
#: language model, a page lists it); this server's own (its page, ``dtms actions``, the
#: client, a remote host) always say how many they want.
DEFAULT_ACTIONS_LIMIT = 10


def given(query: MultiMapping[str]) -> MultiDict[str]:
    """``query`` without its empty values: ``?ticket=&limit=10`` is ``?limit=10``."""
    return MultiDict((name, value) for name, value in query.items() if value != "")


def check_names(
    query: MultiMapping[str], known: Collection[str] = (), *, lists: Collection[str] = ()
) -> MultiDict[str]:
    """``query`` without its empty values (:func:`given`), once every name in it is one
    of ``known`` (a route that takes none: ``()``) and only those in ``lists`` are given
    more than once; else a 400 naming the first that is not."""
    present = given(query)
    for name in present:
        if name not in known:
            takes = ", ".join(known) or "no parameter"
            raise FieldError(name, f"unknown query parameter; this route takes {takes}")
        count = len(present.getall(name))
        if count > 1 and name not in lists:
            raise FieldError(name, f"given {count} times; expected one value")
    return present


def single(query: MultiMapping[str], name: str) -> str | None:
    """The one value of ``name`` (None: absent or empty); a 400 naming it when it is
    given more than once, since which one counts would be a guess."""
    values = given(query).getall(name, [])
    if len(values) > 1:
        raise FieldError(name, f"given {len(values)} times; expected one value")
    return values[0] if values else None


def actions_query(query: MultiMapping[str]) -> tuple[int | None, int]:
    """``(ticket, limit)`` of ``GET /dtms/actions``: every ticket and
    :data:`DEFAULT_ACTIONS_LIMIT` entries when not given (or empty); any other parameter
    is a 400 naming it."""
    check_names(query, ACTIONS_PARAMETERS)
    raw_ticket = single(query, "ticket")
    ticket = parse_ticket_text(raw_ticket) if raw_ticket is not None else None
    raw_limit = single(query, "limit")
    limit = parse_limit(raw_limit, default=DEFAULT_ACTIONS_LIMIT, maximum=MAX_ACTIONS_LIMIT)
    return ticket, limit
