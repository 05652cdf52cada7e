"""What to do, added to a Redis failure whose words name only its symptom
(docs/scaling.md, "Failures"): ``rediss://`` against a Redis that speaks plain text said
only "Timeout connecting to server", and a password set while the replicas run
(``CONFIG SET requirepass``) only "AuthenticationError: HELLO must be called with the
client already authenticated …"."""

from __future__ import annotations

import redis

#: what Redis answers a client that gave no password, or the wrong one
_AUTH_WORDS = ("NOAUTH", "WRONGPASS", "HELLO must be called", "Authentication required",
               "invalid password", "invalid username-password")  # fmt: skip


def redis_hint(exc: BaseException, location: str) -> str:
    """``" (…)"``: one sentence saying what to do about ``exc`` from the store at
    ``location``, or "" when its own words say enough."""
    text = str(exc)
    if isinstance(exc, redis.AuthenticationError) or any(w in text for w in _AUTH_WORDS):
        return (
            " (Redis now wants a password, or another one: put it in the store URL,"
            " redis://:PASSWORD@host:port/0, and start the replicas again)"
        )
    if location.startswith("rediss://") and isinstance(
        exc, redis.TimeoutError | redis.ConnectionError
    ):
        return (
            " (the URL asks for TLS, rediss://: a Redis that speaks plain text never answers"
            " the TLS handshake; use redis:// for it, or turn TLS on in Redis)"
        )
    return ""
