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

__all__ = ["cut_connection"]

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


def cut_connection(server: Address, client: Address) -> bool:
    """Shut down the TCP connection between ``server`` and ``client``, if this process has it.

    Returns:
        Whether a matching socket was found and shut down.
    """
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return False
    for name in fds:
        try:
            dup = socket.socket(fileno=os.dup(int(name)))
        except (OSError, ValueError):
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
