"""Datagram transports: non-blocking UDP and Unix datagram sockets.

``send(data)`` never raises and never waits long: it returns ``None`` when the kernel
took the datagram, or the drop reason (``no_listener``, ``would_block``, ``oversize``,
``send_error``) when it did not. Only the emitter's background thread calls it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket

from agenttrace.sdk.config import Endpoint

__all__ = ["Transport", "UdpTransport", "UnixTransport", "make_transport"]

# How long the emitter thread may wait for buffer space after EAGAIN before it drops
# the datagram. The agent's threads never wait on this.
_EAGAIN_WAIT_S = 0.005
_NO_LISTENER = {errno.ECONNREFUSED, errno.ENOENT, errno.ENOTCONN, errno.EHOSTUNREACH, errno.ENETUNREACH}


def _reason(exc: OSError) -> str:
    if exc.errno in _NO_LISTENER:
        return "no_listener"
    if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS):
        return "would_block"
    if exc.errno == errno.EMSGSIZE:
        return "oversize"
    return "send_error"


class Transport:
    """Base: opens its socket lazily and reopens it after a failure to open."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.sock: socket.socket | None = None

    def _open(self) -> socket.socket:  # pragma: no cover - abstract
        raise NotImplementedError

    def _send_once(self, sock: socket.socket, data: bytes) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def send(self, data: bytes) -> str | None:
        sock = self.sock
        if sock is None:
            try:
                sock = self.sock = self._open()
            except OSError as exc:
                return _reason(exc)
        try:
            self._send_once(sock, data)
            return None
        except BlockingIOError:
            pass
        except OSError as exc:
            return _reason(exc)
        # The socket buffer is full: give the receiver a moment, then try once more.
        try:
            select.select([], [sock], [], _EAGAIN_WAIT_S)
            self._send_once(sock, data)
            return None
        except OSError as exc:
            return _reason(exc)
        except ValueError:  # socket closed under us
            return "send_error"

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()


class UdpTransport(Transport):
    """A connected, non-blocking UDP socket.

    A collector that is down answers with ICMP port-unreachable, which Linux queues on
    the socket as a pending ``ECONNREFUSED``. On loopback it is queued before ``send``
    returns, so reading ``SO_ERROR`` right after each send charges the refusal to the
    datagram that caused it (``no_listener``). From a remote host the ICMP comes later
    and is charged to a following datagram: the count stays right, off by one datagram.
    """

    def _open(self) -> socket.socket:
        host, port = self.endpoint.host, self.endpoint.port
        family, type_, proto, _, addr = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)[0]
        sock = socket.socket(family, type_, proto)
        try:
            sock.setblocking(False)
            sock.connect(addr)
        except OSError:
            sock.close()
            raise
        return sock

    def _send_once(self, sock: socket.socket, data: bytes) -> None:
        sock.send(data)
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise OSError(err, os.strerror(err))


class UnixTransport(Transport):
    """A non-blocking Unix datagram socket sending to the collector's socket path."""

    def _open(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.setblocking(False)
        return sock

    def _send_once(self, sock: socket.socket, data: bytes) -> None:
        sock.sendto(data, self.endpoint.path)


def make_transport(endpoint: Endpoint) -> Transport:
    return UnixTransport(endpoint) if endpoint.scheme == "unix" else UdpTransport(endpoint)
