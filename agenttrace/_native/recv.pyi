"""Stub of the compiled receiver (same names as recv_py.py)."""

from collections.abc import Sequence
from typing import Any

from agenttrace._native.recv_py import BATCH as BATCH
from agenttrace._native.recv_py import COUNTERS as COUNTERS
from agenttrace._native.recv_py import MAX_GAP as MAX_GAP
from agenttrace._native.recv_py import POLL_MS as POLL_MS
from agenttrace._native.recv_py import REORDER_WINDOW as REORDER_WINDOW
from agenttrace._native.recv_py import SEQ_GRACE as SEQ_GRACE
from agenttrace._native.recv_py import SEQ_TABLE_SIZE as SEQ_TABLE_SIZE
from agenttrace._native.recv_py import SEQ_WAYS as SEQ_WAYS
from agenttrace._native.recv_py import allow_rules as allow_rules
from agenttrace._native.recv_py import check_datagram_socket as check_datagram_socket
from agenttrace._native.recv_py import classify as classify
from agenttrace._native.recv_py import socket_drops as socket_drops

class SenderTable:
    def __init__(self, size: int = 0) -> None: ...
    def see(self, sender: int, seq: int) -> tuple[int, int]: ...

class Receiver:
    transport: str
    def __init__(
        self,
        fd: int,
        rings: Sequence[Any],
        transport: str,
        *,
        batch: int = ...,
        senders: SenderTable | None = None,
        allow: Sequence[Any] | None = ...,
    ) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    @property
    def last_error(self) -> str | None: ...
    def stats(self) -> dict[str, int]: ...
    def __enter__(self) -> Receiver: ...
    def __exit__(self, *exc: object) -> None: ...
