"""The segment writer of one worker: WAL first, then column builders, then sealed segments.

Usage (``replay`` turns a WAL record back into spans; it must do what the worker did
before calling :meth:`SegmentWriter.append`, enrichment included)::

    writer = SegmentWriter(data_dir, worker_id, WriterConfig(), replay=decode_and_enrich)
    writer.open()                      # replays the WAL, reseals what was not sealed
    writer.append(raw, spans)          # durable per the fsync policy once it returns
    writer.tick()                      # call often: seals by age, syncs the WAL
    writer.close()                     # seals the rest, trims the WAL

Exactly once: every WAL record is numbered; a segment's footer records the numbers
it holds; a record's spans always go to a single segment. After a crash at any point,
:meth:`open` resumes after the last number the newest segment holds.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from collections.abc import Callable, Sequence

import msgspec

from agenttrace.errors import ConfigError, SegmentCorruptError, StoreError, WireError
from agenttrace.model import Span
from agenttrace.store import layout
from agenttrace.store.segment import encode_segment, no_gc
from agenttrace.store.wal import FSYNC_POLICIES, WAL_HEADER, Opener, Wal

__all__ = ["SegmentWriter", "WriterConfig", "WriterStats"]

log = logging.getLogger("agenttrace.store.writer")


class WriterConfig(msgspec.Struct, kw_only=True):
    """When to seal and how hard to sync.

    A segment is sealed when it holds ``seal_rows`` spans or ``seal_bytes`` datagram
    bytes (checked on append), or when its oldest span waited ``seal_age_s`` (checked
    on tick): readers are at most that far behind. ``wal_fsync`` is ``"interval"``
    (fsync at most every ``wal_fsync_interval_ms``), ``"batch"`` (every append call)
    or ``"none"``. The WAL is rotated (emptied) after a seal once it exceeds
    ``wal_rotate_bytes`` or is ``wal_rotate_s`` old. After a failed seal (disk full)
    the next try waits ``seal_retry_s``; appends are refused past ``max_pending_rows``."""

    seal_rows: int = 50_000
    seal_bytes: int = 8 << 20
    seal_age_s: float = 1.0
    wal_fsync: str = "interval"
    wal_fsync_interval_ms: float = 200
    wal_rotate_bytes: int = 64 << 20
    wal_rotate_s: float = 600.0
    seal_retry_s: float = 1.0
    max_pending_rows: int = 1_000_000
    compress: bool = True
    wal_keep_rotated: bool = False  # a PostgreSQL sink reads the WAL: keep rotated logs until it has sent them

    def __post_init__(self) -> None:
        for key in ("seal_rows", "seal_bytes", "wal_rotate_bytes", "max_pending_rows"):
            value = getattr(self, key)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(key, value, "a positive integer")
        for key in ("seal_age_s", "wal_fsync_interval_ms", "wal_rotate_s", "seal_retry_s"):
            value = getattr(self, key)
            if not isinstance(value, int | float) or value < 0:
                raise ConfigError(key, value, "a number >= 0")
        if self.wal_fsync not in FSYNC_POLICIES:
            raise ConfigError("wal_fsync", self.wal_fsync, " or ".join(repr(p) for p in FSYNC_POLICIES))
        if self.max_pending_rows < self.seal_rows:
            raise ConfigError("max_pending_rows", self.max_pending_rows, f">= seal_rows ({self.seal_rows})")


class WriterStats(msgspec.Struct):
    """Counters of one writer (all since :meth:`SegmentWriter.open`)."""

    segments: int = 0  # sealed
    bytes: int = 0  # segment bytes written
    rows: int = 0  # spans sealed
    wal_bytes: int = 0  # current WAL size
    last_seal_s: float = 0.0  # seconds the last seal took
    errors: int = 0  # failed seals, WAL appends, rotations
    last_error: str = ""
    disk_full: bool = False  # the last write failed for want of space
    pending_rows: int = 0  # appended, not yet sealed
    appended_records: int = 0
    replayed_records: int = 0  # WAL records replayed at open (not yet sealed before)
    replayed_spans: int = 0
    skipped_records: int = 0  # WAL records at open that a segment already held
    undecodable_records: int = 0  # WAL records replay could not decode
    wal_truncated_bytes: int = 0  # torn tail cut off at open
    removed_tmp_files: int = 0


def _default_replay(raw: bytes) -> list[Span]:
    from agenttrace.wire import decode

    return decode(raw).spans


class SegmentWriter:
    """Appends spans of one worker and seals them into segments (see the module doc)."""

    def __init__(
        self,
        data_dir: str | os.PathLike,
        worker_id: int,
        config: WriterConfig | None = None,
        *,
        replay: Callable[[bytes], list[Span]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        opener: Opener | None = None,
    ) -> None:
        if not isinstance(worker_id, int) or worker_id < 0:
            raise ConfigError("worker_id", worker_id, "an integer >= 0")
        self.data_dir = os.fspath(data_dir)
        self.worker_id = worker_id
        self.config = config or WriterConfig()
        self.stats = WriterStats()
        self._replay = replay or _default_replay
        self._clock = clock
        self._opener = opener or os.open
        self._wal = Wal(
            layout.wal_path(self.data_dir, worker_id),
            fsync=self.config.wal_fsync,
            fsync_interval_ms=self.config.wal_fsync_interval_ms,
            clock=clock,
            opener=opener,
            keep_rotated=self.config.wal_keep_rotated,
        )
        self._pending: list[Span] = []
        self._pending_bytes = 0
        self._pending_first_seq = -1
        self._pending_last_seq = -1
        self._pending_since = 0.0
        self._next_segment_seq = 1
        self._retry_at = 0.0
        self._rotated_at = 0.0
        self._open = False

    # --- lifecycle ------------------------------------------------------------

    def __enter__(self) -> SegmentWriter:
        if not self._open:
            self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Recover after whatever happened last: remove this worker's temporary files,
        find the last sealed WAL record, cut a torn WAL tail, replay and reseal the
        rest. A reseal that fails (disk full) is recorded in :attr:`stats` and retried
        by :meth:`tick`; the replayed spans stay pending."""
        if self._open:
            return
        try:
            os.makedirs(layout.segments_dir(self.data_dir), exist_ok=True)
            os.makedirs(layout.wal_dir(self.data_dir), exist_ok=True)
            self._remove_tmp_files()
            sealed_seq = self._recover_segment_state()
            scan = self._wal.open(next_seq=sealed_seq + 1)
            # Records an older version set aside at damage in the middle of the log.
            records = [*scan.records, *self._wal.import_side_files(self._sealed_before)]
        except OSError as exc:
            raise StoreError(f"cannot open the store in {self.data_dir}: {exc.strerror or exc}") from exc
        self.stats.wal_truncated_bytes = self._wal.truncated_bytes
        self._open = True
        self._rotated_at = self._clock()
        for record in records:
            if record.seq <= sealed_seq:
                self.stats.skipped_records += 1
                continue
            try:
                spans = self._replay(record.data)
            except (WireError, ValueError) as exc:
                self.stats.undecodable_records += 1
                log.error("WAL record %d of worker %d does not decode (%s); skipped", record.seq, self.worker_id, exc)
                spans = []
            self.stats.replayed_records += 1
            self.stats.replayed_spans += len(spans)
            self._add_pending(record.seq, len(record.data), spans)
        self._update_stats()
        if self._pending:
            try:
                self._seal()
            except StoreError as exc:
                log.error("resealing the replayed WAL of worker %d failed: %s", self.worker_id, exc)
        elif self._pending_last_seq >= 0 or records:
            # Every record is sealed already (or decoded to nothing): trim the log.
            self._maybe_rotate(force=True)

    def close(self) -> None:
        """Seal what is pending, sync, and trim the WAL. Raises :class:`StoreError`
        if the last seal fails; the WAL then still holds the spans for the next open."""
        if not self._open:
            return
        try:
            if self._pending:
                self._seal()
            self._maybe_rotate(force=True)
        finally:
            self._wal.close()
            self._open = False

    # --- appending --------------------------------------------------------------

    def append(self, raw: bytes, spans: Sequence[Span]) -> None:
        """Log ``raw`` (the datagram ``spans`` came from) to the WAL, then add the spans.

        Raises :class:`StoreError` when the WAL write fails (disk full) or too many
        spans wait for a seal that keeps failing: the spans were **not** accepted.
        A seal this triggers that fails is recorded, not raised (the spans are durable
        in the WAL); :meth:`tick` retries and raises."""
        self.append_batch([(raw, spans)])

    def append_batch(self, items: Sequence[tuple[bytes, Sequence[Span]]]) -> None:
        """Like :meth:`append` for several datagrams, with one WAL write (and one fsync
        under the ``batch`` policy)."""
        if not self._open:
            raise StoreError("the writer is not open; call open() first")
        items = [(raw, spans) for raw, spans in items if spans]
        if not items:
            return
        if len(self._pending) >= self.config.max_pending_rows:
            self.stats.errors += 1
            raise StoreError(
                f"{len(self._pending)} spans wait for a seal that keeps failing ({self.stats.last_error}); "
                "refusing more until it succeeds"
            )
        try:
            last = self._wal.append([raw for raw, _ in items])
        except StoreError as exc:
            self._record_error(exc)
            raise
        first = last - len(items) + 1
        for i, (raw, spans) in enumerate(items):
            self._add_pending(first + i, len(raw), spans)
        self.stats.appended_records += len(items)
        self.stats.wal_bytes = self._wal.size
        self.stats.disk_full = False
        if len(self._pending) >= self.config.seal_rows or self._pending_bytes >= self.config.seal_bytes:
            # A failure is recorded in stats; the spans are safe in the WAL.
            with contextlib.suppress(StoreError):
                self._seal_if_allowed()
        self.stats.pending_rows = len(self._pending)

    def _add_pending(self, seq: int, nbytes: int, spans: Sequence[Span]) -> None:
        if self._pending_first_seq < 0:
            self._pending_first_seq = seq
            self._pending_since = self._clock()
        self._pending_last_seq = seq
        self._pending.extend(spans)
        self._pending_bytes += nbytes

    def tick(self) -> layout.SegmentInfo | None:
        """Seal if the oldest pending span is ``seal_age_s`` old (or size says so), and
        fsync the WAL if the interval policy says so. Returns the sealed segment, if any.
        Raises :class:`StoreError` when a due seal fails (the spans stay pending)."""
        if not self._open:
            raise StoreError("the writer is not open; call open() first")
        try:
            self._wal.maybe_sync()
        except StoreError as exc:
            self._record_error(exc)
            raise
        if not self._pending:
            try:
                self._maybe_rotate()  # an idle writer still trims its WAL every wal_rotate_s
            except StoreError as exc:
                self._record_error(exc)
            return None
        due = (
            len(self._pending) >= self.config.seal_rows
            or self._pending_bytes >= self.config.seal_bytes
            or self._clock() - self._pending_since >= self.config.seal_age_s
        )
        return self._seal_if_allowed() if due else None

    def seal(self) -> layout.SegmentInfo | None:
        """Seal whatever is pending now (None when nothing is)."""
        if not self._open:
            raise StoreError("the writer is not open; call open() first")
        return self._seal() if self._pending else None

    @property
    def pending_rows(self) -> int:
        return len(self._pending)

    # --- sealing ----------------------------------------------------------------

    def _seal_if_allowed(self) -> layout.SegmentInfo | None:
        if self._clock() < self._retry_at:
            return None
        return self._seal()

    def _seal(self) -> layout.SegmentInfo:
        t0 = time.perf_counter()
        spans = self._pending
        seq = self._next_segment_seq
        day = layout.day_of(spans[0].start_ns)
        path = layout.segment_path(self.data_dir, day=day, worker=self.worker_id, seq=seq)
        try:
            with no_gc():
                blob = encode_segment(
                    spans,
                    worker=self.worker_id,
                    seq=seq,
                    wal_first_seq=self._pending_first_seq,
                    wal_last_seq=self._pending_last_seq,
                    rollup=_rollup_bytes(spans),
                    compress=self.config.compress,
                )
        except (ValueError, TypeError, OverflowError) as exc:
            err = StoreError(f"cannot encode segment {path}: {exc}")
            self._record_error(err)
            self._retry_at = self._clock() + self.config.seal_retry_s
            raise err from exc
        try:
            self._publish(path, blob)
        except OSError as exc:
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
            what = "disk full" if full else (exc.strerror or str(exc))
            err = StoreError(
                f"sealing {len(spans)} spans into {path} failed ({what}); they stay in the WAL and "
                f"sealing is retried in {self.config.seal_retry_s:g} s"
            )
            self._record_error(err, disk_full=full)
            self._retry_at = self._clock() + self.config.seal_retry_s
            raise err from exc
        self._next_segment_seq += 1
        self._pending = []
        self._pending_bytes = 0
        self._pending_first_seq = self._pending_last_seq = -1
        self._retry_at = 0.0
        self.stats.segments += 1
        self.stats.bytes += len(blob)
        self.stats.rows += len(spans)
        self.stats.last_seal_s = time.perf_counter() - t0
        self.stats.disk_full = False
        try:
            self._maybe_rotate()
        except StoreError as exc:
            # The segment is safe; an unrotated WAL only means a longer replay skip.
            self._record_error(exc)
        self._update_stats()
        return layout.SegmentInfo(day, self.worker_id, seq, str(path), len(blob))

    def _publish(self, path: os.PathLike, blob: bytes) -> None:
        """Write to ``*.tmp``, fsync, rename, fsync the directory: born whole or not at all."""
        day_dir = os.path.dirname(path)
        if not os.path.isdir(day_dir):
            os.makedirs(day_dir, exist_ok=True)
            layout.fsync_dir(os.path.dirname(day_dir))
        tmp = f"{path}.tmp"
        try:
            fd = self._opener(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                view = memoryview(blob)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        layout.fsync_dir(day_dir)

    def _maybe_rotate(self, force: bool = False) -> None:
        if self._pending:
            return  # unsealed records live in the WAL
        age = self._clock() - self._rotated_at
        if force or self._wal.size >= self.config.wal_rotate_bytes or age >= self.config.wal_rotate_s:
            if self._wal.size > WAL_HEADER.size:
                self._wal.rotate()
            self._pending_first_seq = self._pending_last_seq = -1
            self._rotated_at = self._clock()
            self.stats.wal_bytes = self._wal.size

    # --- recovery ---------------------------------------------------------------

    def _remove_tmp_files(self) -> None:
        root = layout.segments_dir(self.data_dir)
        prefix = f"w{self.worker_id}-"
        for day in os.scandir(root):
            if not day.is_dir():
                continue
            for entry in os.scandir(day.path):
                if entry.name.startswith(prefix) and entry.name.endswith(".tmp"):
                    os.unlink(entry.path)
                    self.stats.removed_tmp_files += 1

    def _sealed_before(self, time_ns: int) -> int:
        """The last WAL record number held by this worker's segments sealed before ``time_ns``."""
        from agenttrace.store.reader import SegmentReader

        sealed = -1
        for info in layout.list_segments(self.data_dir, worker=self.worker_id):
            try:
                if os.stat(info.path).st_mtime_ns < time_ns:
                    sealed = max(sealed, SegmentReader(info.path).footer.wal_last_seq)
            except (OSError, SegmentCorruptError):
                continue
        return sealed

    def _recover_segment_state(self) -> int:
        """Set the next segment number; return the last WAL record number sealed (-1: none)."""
        from agenttrace.store.reader import SegmentReader

        mine = sorted(layout.list_segments(self.data_dir, worker=self.worker_id), key=lambda i: i.seq)
        if not mine:
            return -1
        self._next_segment_seq = mine[-1].seq + 1
        sealed = -1
        # The newest segment holds the highest record number; read back past any that
        # is damaged (and say so) until one answers.
        for info in reversed(mine):
            try:
                footer = SegmentReader(info.path).footer
            except SegmentCorruptError as exc:
                log.error("segment %s is damaged (%s); looking at the one before it", info.path, exc)
                continue
            sealed = max(sealed, footer.wal_last_seq)
            if footer.wal_last_seq >= 0:
                break
        return sealed

    # --- bookkeeping ------------------------------------------------------------

    def _record_error(self, exc: StoreError, *, disk_full: bool | None = None) -> None:
        self.stats.errors += 1
        self.stats.last_error = str(exc)
        if disk_full is None:
            cause = exc.__cause__
            disk_full = isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT)
        self.stats.disk_full = disk_full
        log.error("worker %d: %s", self.worker_id, exc)

    def _update_stats(self) -> None:
        self.stats.pending_rows = len(self._pending)
        self.stats.wal_bytes = self._wal.size


def _rollup_bytes(spans: Sequence[Span]) -> bytes | None:
    """The segment's rollup section, or None if it cannot be built: the spans matter
    more than their summary, so a rollup failure never blocks a seal (readers rebuild
    a missing rollup from the columns)."""
    try:
        from agenttrace.store.rollup import Rollup

        rollup = Rollup()
        rollup.add_spans(spans)
        return rollup.to_bytes()
    except Exception:
        log.exception("building the rollup section failed; sealing the segment without it")
        return None
