"""The bearer token a DTMS server wants, read one way wherever DTMS serves: ``dtms serve``
and ``hostapp serve`` (:meth:`~dtms_plugin.server.settings.ServerSettings.resolve_token`),
the routes DTMS adds to a trading host's app (:mod:`dtms_plugin.web`), and the check at
start-up (:class:`~dtms_plugin.plugin.DtmsPlugin`'s ``configure``)."""

from __future__ import annotations

import os
from collections.abc import Mapping


def served_token(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The token in the environment variable ``name`` (``[plugin.dtms] token_env``),
    without surrounding whitespace: HTTP drops it from a header, and the clients strip it
    too (:class:`~dtms_plugin.client.aio.AsyncDtmsClient`). None when the variable is
    unset or empty: no token, auth off (docs/client.md).

    A value of whitespace only is a ``ValueError`` naming the variable: it is set, so a
    token was meant, but no client could ever send it and every request would be a 401;
    read as "no token" it would turn auth off instead."""
    env = os.environ if environ is None else environ
    value = env.get(name, "")
    if value and not value.strip():
        raise ValueError(
            f"{name} holds only whitespace: no client can send that token; set it to the"
            " secret, or unset it"
        )
    return value.strip() or None
