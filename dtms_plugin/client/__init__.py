"""The public DTMS client: any program (a bot, an API, a desktop agent) registers its
trades with a DTMS server and asks before it touches one. See docs/client.md."""

from .aio import AsyncDtmsClient, DtmsError, DtmsUnreachable, RegisterResult, registration
from .sync import DtmsClient

__all__ = [
    "AsyncDtmsClient",
    "DtmsClient",
    "DtmsError",
    "DtmsUnreachable",
    "RegisterResult",
    "registration",
]
