"""An mt5linux client that really connects: what ``mt5linux.MetaTrader5(host, port)`` does
on the wire before any MetaTrader call, as rpyc (which it uses) does it.

rpyc's classic connect sends a request at once (a frame: a 4-byte length and a
compression flag, the payload, then its ``FLUSHER``, a newline) and reads the answer's
frame. A peer that closes the connection, or one that is no rpyc server (an HTTP server
answers 400 to the "request line" the newline ended, then closes), makes rpyc's socket
stream raise ``EOFError("connection closed by peer")``, or ``EOFError`` around the socket
error; a port nobody listens on raises ``ConnectionRefusedError``. Measured with
mt5linux 1.0.11 (rpyc 6.0.2) and 0.2.4 (rpyc 5.2.3) against ``python -m http.server``.
"""

from __future__ import annotations

import socket
import struct
import types

#: rpyc's channel: frame header (length, compressed) and the byte after every frame
FRAME_HEADER = struct.Struct("!LB")
FLUSHER = b"\n"
#: rpyc reads at most this much per ``recv``
MAX_IO_CHUNK = 64_000


def _read(sock: socket.socket, count: int) -> bytes:
    """``count`` bytes, as rpyc's ``SocketStream.read`` reads them."""
    data = b""
    while len(data) < count:
        try:
            chunk = sock.recv(min(MAX_IO_CHUNK, count - len(data)))
        except OSError as exc:
            raise EOFError(exc) from exc
        if not chunk:
            raise EOFError("connection closed by peer")
        data += chunk
    return data


def wire_mt5linux_module() -> types.ModuleType:
    """A stand-in for the ``mt5linux`` package whose client connects to ``host:port``,
    sends rpyc's first request and reads the answer's frame header and body."""
    module = types.ModuleType("mt5linux")

    class MetaTrader5:
        def __init__(self, host: str = "localhost", port: int = 18812) -> None:
            self.sock = socket.create_connection((host, port), timeout=30)
            payload = b"\x00" * 12  # the request itself: any bytes will do here
            try:  # rpyc closes its stream when a read or write fails
                try:
                    self.sock.sendall(FRAME_HEADER.pack(len(payload), 0) + payload + FLUSHER)
                except OSError as exc:
                    raise EOFError(exc) from exc
                length, _compressed = FRAME_HEADER.unpack(_read(self.sock, FRAME_HEADER.size))
                _read(self.sock, length + len(FLUSHER))
            except EOFError:
                self.sock.close()
                raise

    module.MetaTrader5 = MetaTrader5  # type: ignore[attr-defined]
    return module
