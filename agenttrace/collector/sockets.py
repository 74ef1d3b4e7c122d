"""Sockets the collector receives on: SO_REUSEPORT UDP sockets and a Unix datagram socket.

Each socket gets one receiver (``agenttrace._native.load("recv").Receiver``). The
kernel hashes a sender's address to one of the UDP sockets sharing a port, so one
receiver sees every datagram of a given sender, in order.

    >>> socks = open_udp_sockets("127.0.0.1", 0, 2, 1 << 20)
    >>> len(socks), socks[0].getsockname() == socks[1].getsockname()
    (2, True)
    >>> for s in socks: s.close()
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat

__all__ = ["SO_RXQ_OVFL", "open_udp_sockets", "open_unix_socket", "rcvbuf_warning"]

# Linux value; Python's socket module does not export the name.
SO_RXQ_OVFL: int = getattr(socket, "SO_RXQ_OVFL", 40)


def _tune(sock: socket.socket, rcvbuf: int) -> None:
    if rcvbuf > 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    # Ask the kernel to attach its drop counter to every datagram (receivers read it).
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1)


def open_udp_sockets(host: str, port: int, count: int, rcvbuf: int) -> list[socket.socket]:
    """Bind ``count`` UDP sockets to one ``host:port`` with SO_REUSEPORT.

    ``port`` 0 picks a free port for the first socket and binds the others to it.
    ``rcvbuf`` is the SO_RCVBUF asked for (the kernel caps it at ``net.core.rmem_max``;
    see :func:`rcvbuf_warning`). Sockets are blocking; receivers poll them.
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM, proto=socket.IPPROTO_UDP)
    family, _, _, _, addr = infos[0]
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            _tune(sock, rcvbuf)
            sock.bind(addr)
            if addr[1] == 0:
                addr = (addr[0], sock.getsockname()[1], *addr[2:])
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


def open_unix_socket(path: str | os.PathLike[str], rcvbuf: int, mode: int = 0o660) -> socket.socket:
    """Bind a Unix datagram socket at ``path`` (a stale socket file there is removed;
    any other kind of file is an error) and give it ``mode``."""
    path = os.fspath(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(st.st_mode):
            raise FileExistsError(f"{path} exists and is not a socket; refusing to remove it")
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        _tune(sock, rcvbuf)
        sock.bind(path)
        os.chmod(path, mode)
    except BaseException:
        sock.close()
        raise
    return sock


def rcvbuf_warning(sock: socket.socket, asked: int) -> str | None:
    """Explain, with the command that fixes it, when the kernel gave ``sock`` a smaller
    receive buffer than ``asked``; None when it did not.

    Linux reports twice the usable size it granted and caps requests at
    ``net.core.rmem_max``.
    """
    granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2
    if asked <= 0 or granted >= asked:
        return None
    return (
        f"the kernel capped the receive buffer at {granted} bytes (asked {asked}); "
        f"bursts may be dropped by the kernel. To allow it, run as root:\n"
        f"sysctl -w net.core.rmem_max={asked}"
    )
