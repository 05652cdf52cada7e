"""The public DTMS client: any program (a bot, an API, a desktop agent) registers its
trades with a DTMS server and asks before it touches one. See docs/client.md."""

# each name from the module that defines it: a program checked with ``mypy --strict``
# (no implicit re-exports) can import every one of them from here
from .aio import AsyncDtmsClient
from .bodies import DtmsClientUnusable, DtmsError, DtmsUnreachable, RegisterResult, registration
from .sync import DtmsClient

__all__ = [
    "AsyncDtmsClient",
    "DtmsClient",
    "DtmsClientUnusable",
    "DtmsError",
    "DtmsUnreachable",
    "RegisterResult",
    "registration",
]
