"""The public DTMS client: any program (a bot, an API, a desktop agent) registers its
trades with a DTMS server and asks before it touches one. See docs/client.md."""

from .aio import AsyncDtmsClient, DtmsError, DtmsUnreachable, RegisterResult, registration
from .bodies import DtmsClientUnusable
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
