"""A URL fit for a message or a log: :func:`masked_url` hides the secrets it may carry.

Why in the contract: a plugin's settings often hold a URL with a credential in it (a Redis
URL with a password, a chat webhook whose path is its token), and the messages that name
such a setting (a configuration error, a failed connection, a health report) reach
terminals, log files and public status pages. Every package that prints one masks it the
same way, with this one function.
"""

from __future__ import annotations

from urllib.parse import unquote_plus, urlsplit

#: What stands in for a hidden part.
MASK = "***"

#: A query parameter whose name holds one of these (any case) carries a credential: its
#: value is hidden (``?password=``, ``?username=``, ``?token=``, ``?api_key=``,
#: ``?sig=``...).
SECRET_PARAMETER_WORDS = ("pass", "pwd", "user", "token", "secret", "key", "auth", "sig")


def masked_url(url: str, *, keep_path: bool = True) -> str:
    """``url`` with its secrets replaced by ``***``, for messages and logs.

    Hidden: the user-info (``redis://***@host:6379/0`` for ``user:pass@``), and the value
    of every query parameter named like a credential (:data:`SECRET_PARAMETER_WORDS`:
    ``?password=***``). The scheme, host, port and the other parameters stay, so the
    message still says which server is meant. With ``keep_path=False`` the path, query
    and fragment are hidden too (``https://discord.com/***``): for URLs whose path is the
    secret, as a Discord or Slack webhook's is. A value without ``scheme://`` is read as
    ``host/path`` (a mistyped setting is masked as well); one that does not parse as a URL
    at all is hidden whole, but for its scheme."""
    bare = "://" not in url and not url.startswith("//")
    try:
        parts = urlsplit("//" + url if bare else url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return f"{url.split('://', 1)[0]}://{MASK}" if not bare else MASK
    _, at, hostport = parts.netloc.rpartition("@")
    netloc = f"{MASK}@{hostport}" if at else hostport
    rest = parts.path
    if parts.query:
        rest += "?" + "&".join(_masked_parameter(p) for p in parts.query.split("&"))
    if parts.fragment:
        rest += "#" + parts.fragment
    if not keep_path and rest not in ("", "/"):
        rest = "/" + MASK
    head = f"{parts.scheme}:" if parts.scheme else ""
    text = f"{head}//{netloc}{rest}"
    return text[2:] if bare else text


def _masked_parameter(parameter: str) -> str:
    """``name=value`` with the value hidden when the name is a credential's."""
    name, equals, value = parameter.partition("=")
    lowered = unquote_plus(name).lower()
    if equals and value and any(word in lowered for word in SECRET_PARAMETER_WORDS):
        return f"{name}={MASK}"
    return parameter
