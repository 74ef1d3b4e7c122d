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
import errno
import os
import socket
import stat

from agenttrace.errors import AddressInUseError

__all__ = [
    "SO_RXQ_OVFL",
    "ensure_udp_free",
    "ensure_unix_free",
    "open_udp_sockets",
    "open_unix_socket",
    "rcvbuf_warning",
    "udp_url",
]

# Linux value; Python's socket module does not export the name.
SO_RXQ_OVFL: int = getattr(socket, "SO_RXQ_OVFL", 40)


def _tune(sock: socket.socket, rcvbuf: int) -> None:
    if rcvbuf > 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    # Ask the kernel to attach its drop counter to every datagram (receivers read it).
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1)


def udp_url(host: str, port: int) -> str:
    """``udp://127.0.0.1:4319``, ``udp://[::1]:4319``: how errors and banners name an address."""
    return f"udp://[{host}]:{port}" if ":" in host else f"udp://{host}:{port}"


def ensure_udp_free(host: str, port: int) -> None:
    """Raise :class:`AddressInUseError` when another socket holds ``host:port`` (UDP).

    Sockets bound with SO_REUSEPORT share a port silently: a second collector would
    join the first one's group and take half its traffic. A bind *without*
    SO_REUSEPORT fails while any socket holds the address (the same port on the
    wildcard address included), so it is tried, and let go, before the group is joined.
    Port 0 (pick a free one) never conflicts.
    """
    if port == 0:
        return
    family, _, _, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM, proto=socket.IPPROTO_UDP)[0]
    probe = socket.socket(family, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        probe.bind(addr)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise AddressInUseError(udp_url(host, port), "another process receives there") from None
        raise
    finally:
        probe.close()


def _unix_socket_live(path: str) -> bool:
    """True when a process is bound to the datagram socket at ``path``."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(path)
    except ConnectionRefusedError:
        return False  # a socket file nobody is bound to any more
    except OSError as exc:
        # Not ours to judge (permission denied, ...): treat it as held, never remove it.
        return exc.errno != errno.ENOENT
    finally:
        probe.close()
    return True


def ensure_unix_free(path: str | os.PathLike[str]) -> None:
    """Raise :class:`AddressInUseError` when a process receives on the Unix socket at ``path``.

    A leftover socket file of a collector that died is fine (:func:`open_unix_socket`
    replaces it); a live one belongs to another collector and is never removed."""
    path = os.fspath(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISSOCK(st.st_mode) and _unix_socket_live(path):
        raise AddressInUseError(f"unix://{path}", "another process receives there")


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
            try:
                sock.bind(addr)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise AddressInUseError(udp_url(host, addr[1])) from None
                raise
            if addr[1] == 0:
                addr = (addr[0], sock.getsockname()[1], *addr[2:])
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


def open_unix_socket(path: str | os.PathLike[str], rcvbuf: int, mode: int = 0o660) -> socket.socket:
    """Bind a Unix datagram socket at ``path`` and give it ``mode``.

    A stale socket file there (nobody bound to it) is removed; a live one raises
    :class:`AddressInUseError` and is left alone; any other kind of file is an error."""
    path = os.fspath(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(st.st_mode):
            raise FileExistsError(f"{path} exists and is not a socket; refusing to remove it")
        ensure_unix_free(path)
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
