"""Last resort against a client that stops reading: cut its TCP connection from outside.

hypercorn's trio worker shields every socket write, so a task blocked in ASGI ``send()`` to a
client that never reads cannot be cancelled, not even by shutdown. ASGI offers no way to drop a
connection either. What does unblock the write is the socket failing: this module finds the
connection by its two addresses (from the ASGI scope) among the process's open sockets and
shuts it down, so the blocked ``send_all`` raises and hypercorn closes the connection.

Linux only (it reads ``/proc/self/fd``); elsewhere :func:`cut_connection` finds nothing.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import socket
import stat
from typing import Any, Protocol

import trio

__all__ = ["Reaper", "cut_connection"]

log = logging.getLogger("trio_mcp_http.reaper")

Address = tuple[str, int]


def _same(address: object, wanted: Address) -> bool:
    if not isinstance(address, tuple) or len(address) < 2:
        return False
    host, port = address[0], address[1]
    if port != wanted[1]:
        return False
    try:
        a, b = ipaddress.ip_address(host), ipaddress.ip_address(wanted[0])
    except ValueError:
        return bool(host == wanted[0])
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None:
        a = a.ipv4_mapped
    if isinstance(b, ipaddress.IPv6Address) and b.ipv4_mapped is not None:
        b = b.ipv4_mapped
    return a == b


def _socket_descriptors() -> list[int]:
    """The descriptors of this process that are sockets (read off ``/proc/self/fd``).

    ``fstat`` tells a socket from a file, pipe or epoll descriptor without duplicating it.
    """
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return []
    found = []
    for name in names:
        try:
            fd = int(name)
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                found.append(fd)
        except (OSError, ValueError):  # the listing's own descriptor is gone already
            continue
    return found


def cut_connection(server: Address, client: Address) -> bool:
    """Shut down the TCP connection between ``server`` and ``client``, if this process has it.

    Only sockets are looked at, each through a duplicate of its descriptor that is closed on
    every path, so a cut leaves the process's descriptors as it found them.

    Returns:
        Whether a matching socket was found and shut down.
    """
    for fd in _socket_descriptors():
        try:
            copy = os.dup(fd)
        except OSError:
            continue
        try:
            dup = socket.socket(fileno=copy)
        except OSError:
            os.close(copy)
            continue
        with dup:
            try:
                if dup.type != socket.SOCK_STREAM or dup.family not in (
                    socket.AF_INET,
                    socket.AF_INET6,
                ):
                    continue
                if _same(dup.getsockname(), server) and _same(dup.getpeername(), client):
                    with contextlib.suppress(OSError):
                        dup.shutdown(socket.SHUT_RDWR)
                    log.warning("cut the connection of a client that stopped reading")
                    return True
            except OSError:
                continue
    return False


class StalledWriter(Protocol):
    """What the reaper needs of a connection: since when has its writer been in a send?"""

    peer: tuple[Any, Any]
    send_started: float | None


class Reaper:
    """One task that enforces the write deadline of every ending connection.

    While the writer of a connection that should end (closed, or cut because its client
    stopped reading) is inside a socket write, the connection is in the watched set
    (:meth:`watch` when the write starts or the connection ends mid-write, :meth:`forget`
    when the write returns). The reaper sweeps the set every half write timeout and cuts the
    TCP connection of any write blocked for longer than ``write_timeout``. Both calls are set
    operations, so the hot path pays next to nothing and nothing is retained after a write.

    Args:
        write_timeout: Seconds a write of an ending connection may stay blocked.
    """

    def __init__(self, write_timeout: float) -> None:
        self.write_timeout = write_timeout
        self._watched: dict[StalledWriter, None] = {}
        self._wake = trio.Event()

    def watch(self, connection: StalledWriter) -> None:
        """The writer of an ending connection is in a write: enforce the deadline."""
        self._watched[connection] = None
        self._wake.set()

    def forget(self, connection: StalledWriter) -> None:
        """The write returned."""
        self._watched.pop(connection, None)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Cut the connections whose blocked write outlived its deadline (runs forever)."""
        task_status.started()
        while True:
            if not self._watched:
                await self._wake.wait()
                self._wake = trio.Event()
                continue
            await trio.sleep(self.write_timeout / 2)
            now = trio.current_time()
            for connection in list(self._watched):
                started = connection.send_started
                if started is None:
                    self._watched.pop(connection, None)
                elif now - started >= self.write_timeout:
                    self._watched.pop(connection, None)
                    server, client = connection.peer
                    if server and client:
                        cut_connection(
                            (str(server[0]), int(server[1])), (str(client[0]), int(client[1]))
                        )
