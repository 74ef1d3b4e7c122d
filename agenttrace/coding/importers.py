"""``agenttrace import claude-code|codex``: read transcripts, send their spans to the collector.

Files are read from where the last import stopped (byte offsets and each parser's small
state, kept in ``<data dir>/imports/<source>.json``), only whole lines, so importing
twice sends nothing new and ``--watch`` picks up lines as a session grows. The spans go
over the same datagrams the SDK sends (``agenttrace.wire`` through the SDK's transport)
to the collector's ring → worker → WAL → store path; the importer never writes the store.
A file's state is saved only after its spans were handed to the socket.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agenttrace import wire
from agenttrace.coding.transcripts import ClaudeCodeParser, CodexParser, SeenResponses
from agenttrace.model import Span

__all__ = ["SOURCES", "ImportResult", "SpanSender", "import_once", "watch"]


@dataclass(frozen=True)
class Source:
    name: str
    default_path: Callable[[], Path]
    make_parser: Callable[[dict[str, Any] | None, str, Any], Any]


def _claude_default() -> Path:
    config = os.environ.get("CLAUDE_CONFIG_DIR", "").split(",")[0].strip()
    return (Path(config).expanduser() if config else Path.home() / ".claude") / "projects"


def _codex_default() -> Path:
    home = os.environ.get("CODEX_HOME", "").strip()
    return (Path(home).expanduser() if home else Path.home() / ".codex") / "sessions"


SOURCES: dict[str, Source] = {
    "claude-code": Source("claude-code", _claude_default, lambda state, key, seen: ClaudeCodeParser(state, seen)),
    "codex": Source("codex", _codex_default, lambda state, key, seen: CodexParser(state, file_key=key)),
}


class SpanSender:
    """Sends finished spans as wire datagrams to the collector's datagram endpoint."""

    def __init__(self, endpoint: str, *, max_datagram_bytes: int = 8192) -> None:
        from agenttrace.sdk.config import parse_endpoint
        from agenttrace.sdk.transport import make_transport

        self.transport = make_transport(parse_endpoint(endpoint))
        self.max_bytes = max_datagram_bytes
        self.sender_id = random.getrandbits(32) or 1
        self.seq = 0
        self.stats: dict[str, int] = {}
        self.sent_spans = 0
        self.busy_timeout_s = 30.0

    def send(self, spans: list[Span]) -> None:
        """Send ``spans``; raises ``OSError`` naming the reason if a datagram is refused."""
        if not spans:
            return
        grams = wire.batch(spans, self.max_bytes, sender_id=self.sender_id, seq=self.seq, stats=self.stats)
        for i, gram in enumerate(grams):
            reason = self.transport.send(gram)
            deadline = time.monotonic() + self.busy_timeout_s
            # A full socket buffer (a Unix socket whose collector is behind) means wait,
            # not drop: an import has no deadline, and a file half sent would be sent again.
            while reason == "would_block" and time.monotonic() < deadline:
                time.sleep(0.01)
                reason = self.transport.send(gram)
            if reason is not None:
                raise OSError(f"could not send to the collector ({reason})")
            if i % 8 == 7:
                # An import is one burst; UDP drops what the collector's receive buffer
                # cannot hold, so keep to ~8k datagrams a second.
                time.sleep(0.001)
        self.seq += len(grams)
        self.sent_spans += len(spans)

    def close(self) -> None:
        self.transport.close()


@dataclass
class ImportResult:
    files: int = 0
    lines: int = 0
    bad_lines: int = 0
    spans: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def _files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    yield from sorted(p for p in root.rglob("*.jsonl") if p.is_file())


def _state_path(data_dir: Path, source: str) -> Path:
    return data_dir / "imports" / f"{source}.json"


def _load_state(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _save_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, path)  # readers see the old state or the new one, never half


def import_once(
    source: str, root: Path, sender: SpanSender, data_dir: Path, result: ImportResult | None = None
) -> ImportResult:
    """Import what is new in every transcript under ``root`` (a file or a directory)."""
    src = SOURCES[source]
    result = result or ImportResult()
    state_path = _state_path(data_dir, source)
    state = _load_state(state_path)
    files = state.setdefault("files", {})
    seen = SeenResponses(state.get("seen"))  # shared by all files of the source
    for path in _files(root):
        key = str(path.resolve())
        entry = files.get(key, {})
        offset = int(entry.get("offset", 0))
        try:
            size = path.stat().st_size
        except OSError:
            continue
        if size < offset:  # the file was replaced: read it again from the start
            entry, offset = {}, 0
        if size == offset:
            continue
        parser = src.make_parser(entry.get("parser"), key, seen)
        spans: list[Span] = []
        with path.open("rb") as f:
            f.seek(offset)
            for line in f:
                if not line.endswith(b"\n"):
                    break  # a line still being written: the next import reads it whole
                line_at = offset
                offset += len(line)
                result.lines += 1
                try:
                    record = json.loads(line)
                except ValueError:
                    result.bad_lines += 1
                    continue
                if not isinstance(record, dict):
                    result.bad_lines += 1
                    continue
                spans.extend(parser.feed(record, line_at))
        spans.extend(parser.flush())
        sender.send(spans)
        files[key] = {"offset": offset, "parser": parser.state()}
        state["seen"] = seen.state()
        _save_state(state_path, state)
        result.files += 1
        result.spans += len(spans)
        for s in spans:
            result.by_kind[s.kind] = result.by_kind.get(s.kind, 0) + 1
    return result


def watch(
    source: str,
    root: Path,
    sender: SpanSender,
    data_dir: Path,
    *,
    interval_s: float = 2.0,
    stop: Callable[[], bool] = lambda: False,
    on_pass: Callable[[ImportResult], None] = lambda r: None,
) -> ImportResult:
    """Import, then keep importing what the files gain every ``interval_s`` until ``stop()``."""
    total = ImportResult()
    while True:
        before = total.spans
        import_once(source, root, sender, data_dir, total)
        if total.spans != before:
            on_pass(total)
        deadline = time.monotonic() + interval_s
        while time.monotonic() < deadline:
            if stop():
                return total
            time.sleep(min(0.1, interval_s))
