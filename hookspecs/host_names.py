"""Which names (a request's ``Host``) a web server answers to: one rule for every server
of the project.

Why: a web page whose domain its owner rebound to 127.0.0.1 (DNS rebinding) is the same
origin as that domain to the browser, so it may read what a server on the trader's
loopback answers; only the name it asks by (``Host: evil.example``) tells it apart. A
server on the loopback therefore answers to the loopback's own names alone. Why in the
contract: the host applies it to every route of its web app on the loopback
(``hostapp/web_guards.py``), and DTMS to its own server on another address without a
token (``dtms_plugin/server/middleware.py``); the same names, from one definition.
"""

from __future__ import annotations

import ipaddress

#: The names a server on the loopback is asked by: a program's, or the trader's browser.
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})

#: The addresses that bind every interface: any name the network knows the server by is
#: meant there.
EVERY_ADDRESS = frozenset({"0.0.0.0", "::", ""})


def is_loopback(address: str) -> bool:
    """Is ``address`` (what a server binds, or a host name) this machine's loopback:
    ``localhost``, 127.0.0.0/8 or ``::1``?"""
    if address.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def answered_names(bound: str) -> frozenset[str] | None:
    """The host names (without a port, lower case) a server bound to ``bound`` answers
    to: the loopback's and the bound address itself; ``None``, any name, for a server
    bound to every address (:data:`EVERY_ADDRESS`)."""
    if bound in EVERY_ADDRESS:
        return None
    return LOOPBACK_NAMES | {bound.lower().strip("[]")}
