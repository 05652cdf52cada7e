"""What the parts of :class:`~.service.DtmsService` (:class:`~.registering.Registering`,
:class:`~.closes.Closing`, :class:`~.unregistering.Unregistering`) use of the service,
declared once: the service sets these attributes in its ``__init__`` and start-up."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ..store import StoreProtocol
from .engine_thread import EngineThread
from .metrics import ServerMetrics
from .observed import ObservedHost
from .rounds import RegistrationRounds

if TYPE_CHECKING:  # redis's: imported only with a Redis store (DtmsService.open_store)
    from collections.abc import Iterable

    from .close_inbox import LeftCloses
    from .replicas import Replicas
    from .validation import Registration


class ServiceParts:
    """A base of the service's parts (mixins): the attributes they share."""

    log: logging.Logger
    metrics: ServerMetrics
    engine: EngineThread
    replicas: Replicas | None
    _left_closes: LeftCloses | None
    _command_lock: asyncio.Lock
    _rounds: RegistrationRounds
    _engine_lock: asyncio.Lock | None
    _host: ObservedHost | None
    _strategy: Any

    if TYPE_CHECKING:

        @property
        def store(self) -> StoreProtocol: ...

        def _require_engine(self) -> None: ...

        def trade(self, ticket: int) -> dict[str, Any] | None: ...

        async def _settle_left(self, ticket: int) -> None: ...

        async def _unregister_now(self, ticket: int) -> bool: ...

        def _check_unregistered(self, reg: Registration) -> bool: ...

        def _lift_unregistered(self, tickets: Iterable[int]) -> None: ...
