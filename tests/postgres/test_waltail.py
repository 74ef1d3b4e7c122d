"""WalTail without PostgreSQL: incomplete tails wait, damage in the middle is skipped,
rotations are followed through the kept logs, and the cursor trims them."""

from __future__ import annotations

import os
from pathlib import Path

from agenttrace.store.postgres.waltail import WalTail, disk_backlog, kept_logs
from agenttrace.store.wal import WAL_RECORD, Wal


def _wal(tmp_path: Path) -> tuple[Wal, str]:
    path = str(tmp_path / "wal" / "worker-0.wal")
    w = Wal(path, fsync="none", keep_rotated=True)
    w.open(next_seq=0)
    return w, path


def test_an_incomplete_record_waits_and_damage_in_the_middle_is_skipped(tmp_path: Path) -> None:
    w, path = _wal(tmp_path)
    w.append([b"zero", b"one"])
    tail = WalTail(path)
    assert tail.read() == (0, [b"zero", b"one"])
    # Half a record, as a reader sees a write in progress: nothing yet, and no skip.
    with open(path, "ab") as f:
        f.write(b"ATWR\x05\x00\x00\x00")  # claims 5 bytes: "cut short" until more comes
    assert tail.read()[1] == []
    assert tail.skipped_records == 0
    # The writer's next record lands after those bad bytes (a crash left them behind).
    w.append([b"two"])
    first, got = tail.read()
    assert (first, got) == (2, [b"two"]) and tail.position == 3
    assert tail.skipped_records == 0  # record numbers went on: only bytes were bad
    w.close()


def test_rotations_are_followed_and_the_cursor_trims_kept_logs(tmp_path: Path) -> None:
    w, path = _wal(tmp_path)
    w.append([b"a", b"b"])
    w.rotate()
    w.append([b"c"])
    w.rotate()
    w.append([b"d", b"e"])
    assert [base for base, _ in kept_logs(path)] == [0, 2]
    tail = WalTail(path)
    seen: list[bytes] = []
    for _ in range(10):
        first, got = tail.read()
        if got:
            assert first == len(seen)
            seen += got
    assert seen == [b"a", b"b", b"c", b"d", b"e"]
    assert disk_backlog(tmp_path) is None  # no cursor written yet: no sink ran
    tail.commit(3)
    assert [base for base, _ in kept_logs(path)] == []  # both kept logs are passed
    assert disk_backlog(tmp_path) == 2 * WAL_RECORD.size + 2
    tail.commit(5)
    assert disk_backlog(tmp_path) == 0
    # A new tail (a restarted sink) resumes at the durable cursor.
    w.append([b"f"])
    again = WalTail(path)
    assert again.read() == (5, [b"f"])
    w.close()
    assert os.path.exists(path[: -len(".wal")] + ".pg-cursor")
