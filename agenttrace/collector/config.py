"""The collector's configuration: embedded defaults < TOML file < ``AGENTTRACE_*`` < flags.

Every key has a default, so ``agenttrace-collector`` with no configuration at all
listens on UDP 127.0.0.1:4319, a Unix datagram socket in the user's runtime
directory and HTTP 127.0.0.1:4318, stores in the XDG data directory and runs one
worker per core. ``agenttrace/collector/collector.example.toml`` (shipped in the package;
``agenttrace service install`` copies it to /etc) lists every key with a comment.

Environment variables name a key as ``AGENTTRACE_<SECTION>_<KEY>`` in upper case
(``AGENTTRACE_STORE_SEAL_ROWS=20000``); the common ones also have the short names
DESIGN.md gives: ``AGENTTRACE_DATA_DIR``, ``AGENTTRACE_WORKERS``, ``AGENTTRACE_UDP``,
``AGENTTRACE_UNIX``, ``AGENTTRACE_HTTP``, ``AGENTTRACE_API_KEY``,
``AGENTTRACE_LOG_LEVEL``. Other ``AGENTTRACE_*`` names belong to the SDK and are
ignored here.

A wrong value raises :class:`~agenttrace.errors.ConfigError` naming the key, the
value and what was expected::

    >>> try:
    ...     load_config(overrides={"collector.workers": "many"})
    ... except ConfigError as exc:
    ...     print(exc.key, exc.value, exc.expected, sep=" | ")
    collector.workers | many | an integer >= 0 (0 = one per core)
"""

from __future__ import annotations

import inspect
import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import msgspec

from agenttrace.errors import ConfigError
from agenttrace.guards.stage import GuardConfig
from agenttrace.paths import default_data_dir, default_runtime_dir

__all__ = [
    "ApiSection",
    "CollectorConfig",
    "CollectorSection",
    "HttpSection",
    "MetricsSection",
    "OtlpSection",
    "ReceiveSection",
    "StoreSection",
    "is_loopback",
    "load_config",
    "parse_hostport",
    "require_api_key",
]

# The ring's default max_record, and the largest UDP payload (what the ring allows at most).
MAX_DATAGRAM_DEFAULT = 16 * 1024
MAX_DATAGRAM_LIMIT = 65_507
RING_MIN_BYTES = 1 << 20

# [receive] allow when none is configured: this machine only.
DEFAULT_ALLOW = ("127.0.0.0/8", "::1/128")

LogLevel = Literal["debug", "info", "warning", "error"]
FsyncMode = Literal["interval", "batch", "none"]


class CollectorSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    data_dir: str = ""  # "" = $AGENTTRACE_DATA_DIR, else $XDG_DATA_HOME/agenttrace
    workers: int = 0  # 0 = one per core
    ring_bytes: int = 64 << 20  # shared-memory ring per worker
    log_level: LogLevel = "info"
    log_file: str = ""  # "" = stderr; reopened on SIGHUP (logrotate)
    shutdown_timeout_s: float = 10.0  # SIGTERM: drain and seal within this
    restart_backoff_s: float = 0.5  # first delay before restarting a dead worker (doubles, max 10 s)


class ReceiveSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    udp: list[str] = msgspec.field(default_factory=lambda: ["127.0.0.1:4319"])  # [] = no UDP
    unix: str = "default"  # "default" = <runtime dir>/collector.sock; "" = no Unix socket
    udp_sockets: int = 0  # SO_REUSEPORT sockets (one receive thread each) per address; 0 = min(2, cores)
    rcvbuf_bytes: int = 32 << 20  # SO_RCVBUF asked for; capped by net.core.rmem_max
    # Largest datagram the rings accept (their max_record); bigger ones are dropped{reason="oversize"}.
    max_datagram_bytes: int = MAX_DATAGRAM_DEFAULT
    # Networks (CIDR) UDP datagrams are accepted from; others are dropped{reason="not_allowed"}.
    allow: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_ALLOW))


class HttpSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    listen: str = "127.0.0.1:4318"  # "" = no HTTP


class ApiSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # Bearer token for /api/v1/* (and /metrics, below). Required when http.listen is not a
    # loopback address: the collector refuses to start without it. Env: AGENTTRACE_API_KEY.
    api_key: str = ""
    metrics_require_key: bool = True  # with api_key set, /metrics needs it too; false = /metrics open


class OtlpSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # OTLP/HTTP is served on http.listen; this is OTLP/gRPC's address ("" = off). Env: AGENTTRACE_OTLP_GRPC.
    grpc: str = "127.0.0.1:4317"
    max_body_bytes: int = 16 << 20  # larger requests (compressed or not) get 413
    # What the SDK's settings of the same names do, for spans that arrive over OTLP.
    capture_content: bool = True
    max_preview_chars: int = 2000
    mask_patterns: list[str] = []  # regular expressions; matches in content become "[masked]"


class StoreSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    seal_rows: int = 50_000
    seal_bytes: int = 8 << 20
    seal_age_s: float = 1.0
    wal_fsync: FsyncMode = "interval"  # "batch" = fsync every append; "none" = leave it to the kernel
    wal_fsync_interval_ms: int = 200
    wal_rotate_bytes: int = 64 << 20  # empty the WAL after a seal once it is this big...
    wal_rotate_s: float = 600.0  # ...or this old
    max_pending_rows: int = 1_000_000  # refuse appends (counted as store_error) while seals keep failing
    compress: bool = True  # LZ4 column blocks
    # Delete segments whose spans are all older; 0 = keep forever. Whole days at least:
    # a worker's newest segment must outlive its WAL (docs/architecture.md, exactly-once rule).
    retention_days: float = 0
    maintenance_interval_s: float = 300.0  # compaction + retention pass; 0 = never (run it yourself)
    read: Literal["segments", "postgres"] = "segments"  # what the API answers from ("postgres": [postgres] dsn)


class PostgresSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # postgresql://user:pass@host:5432/db: every stored span is also written there, from the
    # WAL (docs/postgres.md). "" = off. Env: AGENTTRACE_POSTGRES_DSN.
    dsn: str = ""
    batch_bytes: int = 2 << 20  # WAL bytes per COPY batch
    migrate: bool = True  # apply the schema migrations at start (else: agenttrace db migrate)
    retention_days: float = 0  # drop day partitions older than this; 0 = keep forever


class MetricsSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    max_label_values: int = 64  # per user-supplied label (model, service); the rest is "other"
    publish_interval_ms: int = 250  # how often workers publish their domain series


class CollectorConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The whole configuration; each table of the TOML file is one section."""

    collector: CollectorSection = msgspec.field(default_factory=CollectorSection)
    receive: ReceiveSection = msgspec.field(default_factory=ReceiveSection)
    http: HttpSection = msgspec.field(default_factory=HttpSection)
    api: ApiSection = msgspec.field(default_factory=ApiSection)
    store: StoreSection = msgspec.field(default_factory=StoreSection)
    metrics: MetricsSection = msgspec.field(default_factory=MetricsSection)
    otlp: OtlpSection = msgspec.field(default_factory=OtlpSection)
    postgres: PostgresSection = msgspec.field(default_factory=PostgresSection)
    # Secrets, personal data, injection markers and loops in stored spans (docs/collector.md, Guards).
    guards: GuardConfig = msgspec.field(default_factory=GuardConfig)
    # Handed to agenttrace.pricing.PricingConfig (validated by it when it exists).
    pricing: dict[str, Any] = {}

    # --- resolved values -----------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return Path(os.path.expanduser(self.collector.data_dir)) if self.collector.data_dir else default_data_dir()

    @property
    def workers(self) -> int:
        return self.collector.workers or (os.cpu_count() or 1)

    @property
    def unix_path(self) -> Path | None:
        if not self.receive.unix:
            return None
        if self.receive.unix == "default":
            return default_runtime_dir() / "collector.sock"
        return Path(os.path.expanduser(self.receive.unix))

    @property
    def udp_addresses(self) -> list[tuple[str, int]]:
        return [parse_hostport(a) for a in self.receive.udp]

    @property
    def allow_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """``[receive] allow`` parsed (validated by :func:`load_config`)."""
        return [ipaddress.ip_network(a, strict=False) for a in self.receive.allow]

    def exposure_warning(self) -> str | None:
        """Why a non-loopback UDP address with the default (loopback) allow list is
        probably not what the user wants; None when that is not the case."""
        exposed = [a for a in self.receive.udp if not is_loopback(parse_hostport(a)[0])]
        if not exposed or tuple(self.receive.allow) != DEFAULT_ALLOW:
            return None
        return (
            f"receiving UDP on {', '.join(exposed)} (not loopback) with no [receive] allow list: only "
            "senders on this machine are accepted, others are dropped "
            '(agenttrace_datagrams_dropped_total{reason="not_allowed"}). Set [receive] allow '
            '(AGENTTRACE_RECEIVE_ALLOW) to your agents\' networks, e.g. ["10.0.0.0/8"]'
        )

    @property
    def http_address(self) -> tuple[str, int] | None:
        return parse_hostport(self.http.listen) if self.http.listen else None

    @property
    def otlp_grpc_address(self) -> tuple[str, int] | None:
        return parse_hostport(self.otlp.grpc, key="otlp.grpc") if self.otlp.grpc else None

    @property
    def udp_sockets(self) -> int:
        return self.receive.udp_sockets or min(2, os.cpu_count() or 1)

    def writer_config(self) -> Any:
        """The store's ``WriterConfig`` built from ``[store]`` (only the knobs it accepts)."""
        from agenttrace.store import writer as writer_mod  # the store is a separate area

        cls = writer_mod.WriterConfig
        try:
            accepted = set(inspect.signature(cls).parameters)
        except (TypeError, ValueError):
            accepted = set(getattr(cls, "__struct_fields__", ()))
        values = msgspec.structs.asdict(self.store)
        return cls(**{k: v for k, v in values.items() if k in accepted})


# key -> (expected, check). Semantic checks msgspec's types cannot express.
_CHECKS: dict[str, tuple[str, Any]] = {
    "collector.workers": ("an integer >= 0 (0 = one per core)", lambda v: v >= 0),
    "collector.shutdown_timeout_s": ("a number > 0", lambda v: v > 0),
    "collector.restart_backoff_s": ("a number >= 0", lambda v: v >= 0),
    "receive.udp_sockets": ("an integer >= 0 (0 = automatic)", lambda v: v >= 0),
    "receive.rcvbuf_bytes": ("an integer >= 0", lambda v: v >= 0),
    "receive.max_datagram_bytes": (
        f"an integer between 1024 and {MAX_DATAGRAM_LIMIT} (the largest UDP payload)",
        lambda v: 1024 <= v <= MAX_DATAGRAM_LIMIT,
    ),
    "store.seal_rows": ("an integer >= 1", lambda v: v >= 1),
    "store.seal_bytes": ("an integer >= 4096", lambda v: v >= 4096),
    "store.seal_age_s": ("a number > 0", lambda v: v > 0),
    "store.wal_fsync_interval_ms": ("an integer >= 1", lambda v: v >= 1),
    "store.wal_rotate_bytes": ("an integer >= 1", lambda v: v >= 1),
    "store.wal_rotate_s": ("a number >= 0", lambda v: v >= 0),
    "store.retention_days": ("0 (keep forever) or a number of days >= 1", lambda v: v == 0 or v >= 1),
    "store.maintenance_interval_s": ("a number >= 0 (0 = never)", lambda v: v >= 0),
    "metrics.max_label_values": ("an integer >= 1", lambda v: v >= 1),
    "metrics.publish_interval_ms": ("an integer >= 10", lambda v: v >= 10),
    "otlp.max_body_bytes": ("an integer >= 1024", lambda v: v >= 1024),
    "postgres.dsn": ("a postgresql:// URI or empty", lambda v: not v or v.startswith(("postgresql://", "postgres://"))),
    "postgres.batch_bytes": ("an integer >= 65536", lambda v: v >= 65536),
    "postgres.retention_days": ("0 (keep forever) or a number of days >= 1", lambda v: v == 0 or v >= 1),
    "otlp.max_preview_chars": ("an integer >= 0", lambda v: v >= 0),
    "guards.enabled": ('a list of "secret", "pii", "injection", "loop" ([] = no guards)', lambda v: True),
    "guards.loop_threshold": ("an integer >= 2", lambda v: v >= 2),
    "guards.max_trace_spans": ("an integer >= 1", lambda v: v >= 1),
}

# Short environment names DESIGN.md promises, next to the AGENTTRACE_<SECTION>_<KEY> form.
_ENV_ALIASES: dict[str, str] = {
    "AGENTTRACE_DATA_DIR": "collector.data_dir",
    "AGENTTRACE_WORKERS": "collector.workers",
    "AGENTTRACE_LOG_LEVEL": "collector.log_level",
    "AGENTTRACE_LOG_FILE": "collector.log_file",
    "AGENTTRACE_UDP": "receive.udp",
    "AGENTTRACE_UNIX": "receive.unix",
    "AGENTTRACE_HTTP": "http.listen",
    "AGENTTRACE_API_KEY": "api.api_key",
}

_LIST_KEYS = {"receive.udp", "receive.allow", "otlp.mask_patterns", "guards.enabled"}


def _section_keys() -> dict[str, msgspec.structs.FieldInfo]:
    out = {}
    for section in msgspec.structs.fields(CollectorConfig):
        if section.name == "pricing":
            continue
        for f in msgspec.structs.fields(section.type):
            out[f"{section.name}.{f.name}"] = f
    return out


def parse_hostport(value: str, *, key: str = "address") -> tuple[str, int]:
    """``"127.0.0.1:4319"`` -> ``("127.0.0.1", 4319)``; ``"[::1]:4319"`` for IPv6."""
    m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([^:\[\]]*):(\d{1,5})", value.strip())
    if not m:
        raise ConfigError(key, value, "HOST:PORT (IPv6 as [ADDR]:PORT)")
    host = m.group(1) if m.group(1) is not None else m.group(3)
    port = int(m.group(2) or m.group(4))
    if not 0 <= port <= 65535:
        raise ConfigError(key, value, "a port between 0 and 65535")
    return host or "0.0.0.0", port


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    section, _, key = dotted.partition(".")
    node = tree.setdefault(section, {})
    if not isinstance(node, dict):
        raise ConfigError(section, node, "a table")
    node[key] = value


def _convert(tree: dict[str, Any], source: dict[str, str]) -> CollectorConfig:
    """The config Struct of the merged tree. The tree is checked table by table and key by
    key first, against the Structs' own fields, so an error names the key our walk is at
    and describes its type from ``msgspec.inspect`` (msgspec's error messages are text
    for people; nothing here parses them)."""
    tables = {f.name: f for f in msgspec.structs.fields(CollectorConfig)}
    keys = _section_keys()
    for name, node in tree.items():
        if name not in tables:
            raise ConfigError(name, node, "one of the tables: " + ", ".join(tables), source=source.get(name))
        if name == "pricing":
            continue  # the pricing area's own Struct checks it (_validate_pricing)
        if not isinstance(node, dict):
            raise ConfigError(name, node, "a table", source=source.get(name))
        for key, value in node.items():
            dotted = f"{name}.{key}"
            field = keys.get(dotted)
            if field is None:
                expected = "one of the keys: " + ", ".join(k for k in sorted(keys) if k.startswith(f"{name}."))
                raise ConfigError(dotted, value, expected, source=source.get(dotted))
            try:
                msgspec.convert(value, field.type, strict=False)
            except msgspec.ValidationError:
                raise ConfigError(dotted, value, _expected(dotted, field.type), source=source.get(dotted)) from None
    return msgspec.convert(tree, CollectorConfig, strict=False)


def _expected(key: str, field_type: Any) -> str:
    if key in _CHECKS:
        return _CHECKS[key][0]
    if get_origin(field_type) is Literal:  # in the declared order (msgspec.inspect sorts them)
        return "one of " + ", ".join(repr(v) for v in get_args(field_type))
    return _describe(msgspec.inspect.type_info(field_type))


def _describe(t: msgspec.inspect.Type) -> str:
    """What a value of type ``t`` looks like in TOML, for a person."""
    mi = msgspec.inspect
    if isinstance(t, mi.LiteralType):
        return "one of " + ", ".join(repr(v) for v in t.values)
    if isinstance(t, mi.UnionType):
        return " or ".join(_describe(u) for u in t.types)
    if isinstance(t, mi.BoolType):
        return "true or false"
    if isinstance(t, mi.IntType):
        return "an integer"
    if isinstance(t, mi.FloatType):
        return "a number"
    if isinstance(t, mi.StrType):
        return "a string"
    if isinstance(t, mi.NoneType):
        return "nothing"
    if isinstance(t, mi.ListType | mi.TupleType | mi.VarTupleType | mi.SetType):
        return "a list"
    if isinstance(t, mi.DictType | mi.StructType):
        return "a table"
    return type(t).__name__


def _validate(cfg: CollectorConfig, source: dict[str, str]) -> None:
    for key, (expected, check) in _CHECKS.items():
        section, _, name = key.partition(".")
        value = getattr(getattr(cfg, section), name)
        if not check(value):
            raise ConfigError(key, value, expected, source=source.get(key))
    _validate_ring_bytes(cfg, source)
    for i, addr in enumerate(cfg.receive.udp):
        key = "receive.udp"
        try:
            host, _port = parse_hostport(addr, key=key)
            ipaddress.ip_address(host)
        except ValueError:
            raise ConfigError(
                f"{key}[{i}]", addr, "HOST:PORT with a numeric IP address", source=source.get(key)
            ) from None
    if not cfg.receive.allow:
        raise ConfigError(
            "receive.allow",
            [],
            "at least one network (0.0.0.0/0 and ::/0 accept every sender)",
            source=source.get("receive.allow"),
        )
    for i, net in enumerate(cfg.receive.allow):
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError:
            raise ConfigError(
                f"receive.allow[{i}]",
                net,
                "a network in CIDR form (10.0.0.0/8, fd00::/8) or an address",
                source=source.get("receive.allow"),
            ) from None
    if cfg.http.listen:
        try:
            parse_hostport(cfg.http.listen, key="http.listen")
        except ConfigError as exc:
            raise ConfigError(exc.key, exc.value, exc.expected, source=source.get("http.listen")) from None
    if cfg.otlp.grpc:
        try:
            parse_hostport(cfg.otlp.grpc, key="otlp.grpc")
        except ConfigError as exc:
            raise ConfigError(exc.key, exc.value, exc.expected, source=source.get("otlp.grpc")) from None
    for pattern in cfg.otlp.mask_patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError("otlp.mask_patterns", pattern, f"a regular expression ({exc})") from None
    if cfg.pricing:
        _validate_pricing(cfg.pricing, source.get("pricing"))


def _ring_record_bytes(payload: int) -> int:
    # Ring layout (docs/format/ring.md): a u32 length before each payload, padded to 8 bytes.
    return (payload + 11) & ~7


def _validate_ring_bytes(cfg: CollectorConfig, source: dict[str, str]) -> None:
    """``Ring.create`` needs a multiple of 8 that holds two records of ``max_record``;
    checked here so a bad value is a ConfigError, not a ValueError at startup."""
    value = cfg.collector.ring_bytes
    least = max(RING_MIN_BYTES, 2 * _ring_record_bytes(cfg.receive.max_datagram_bytes))
    if value % 8 or value < least:
        expected = (
            f"a multiple of 8 that is >= {least} (1 MiB, and at least two records of "
            f"receive.max_datagram_bytes = {cfg.receive.max_datagram_bytes})"
        )
        raise ConfigError("collector.ring_bytes", value, expected, source=source.get("collector.ring_bytes"))


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: addresses only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_api_key(cfg: CollectorConfig) -> None:
    """Raise :class:`ConfigError` when HTTP listens beyond loopback without ``api.api_key``.

    Checked when the collector starts, not in :func:`load_config`: other commands read
    the same file (``pricing check --config``) without the key the service gets from
    its environment."""
    # Issue 6: bound beyond loopback, the query API (spans, prompts, costs) would be open
    # to the network, so a key is required rather than merely advised.
    addr = cfg.http_address
    grpc = cfg.otlp_grpc_address
    if grpc is not None and not cfg.api.api_key and not is_loopback(grpc[0]):
        raise ConfigError(
            "api.api_key",
            "",
            f"a key, because otlp.grpc = {cfg.otlp.grpc!r} is not a loopback address "
            "(set [api] api_key or AGENTTRACE_API_KEY, or listen on 127.0.0.1)",
        )
    if addr is None or cfg.api.api_key or is_loopback(addr[0]):
        return
    raise ConfigError(
        "api.api_key",
        "",
        f"a key, because http.listen = {cfg.http.listen!r} is not a loopback address "
        "(set [api] api_key or AGENTTRACE_API_KEY, or listen on 127.0.0.1)",
    )


def _validate_pricing(raw: dict[str, Any], source: str | None) -> None:
    from agenttrace.pricing import PricingConfig  # here: the pricing catalogue is not needed to parse a config

    try:
        msgspec.convert(raw, PricingConfig, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError("pricing", raw, str(exc), source=source) from None


def _env_overrides(environ: Mapping[str, str]) -> dict[str, str]:
    keys = _section_keys()
    out: dict[str, str] = {}
    for name, dotted in _ENV_ALIASES.items():
        if name in environ:
            out[dotted] = environ[name]
    for dotted in keys:
        name = "AGENTTRACE_" + dotted.replace(".", "_").upper()
        if name in environ:
            out[dotted] = environ[name]
    return out


def _coerce_env(dotted: str, value: str) -> Any:
    if dotted in _LIST_KEYS:
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> CollectorConfig:
    """Build the configuration: defaults, then ``path`` (TOML), then ``AGENTTRACE_*``
    from ``environ`` (default ``os.environ``), then ``overrides`` (command-line flags,
    as ``{"section.key": value}``; ``None`` values are ignored)."""
    tree: dict[str, Any] = {}
    source: dict[str, str] = {}
    if path is not None:
        p = Path(path)
        try:
            with p.open("rb") as fh:
                tree = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError("--config", str(p), "an existing TOML file") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("--config", str(p), f"valid TOML ({exc})") from None
        for section, body in tree.items():
            if isinstance(body, dict):
                for k in body:
                    source[f"{section}.{k}"] = str(p)
            source[section] = str(p)
    env = os.environ if environ is None else environ
    for dotted, value in _env_overrides(env).items():
        _set(tree, dotted, _coerce_env(dotted, value))
        source[dotted] = "environment"
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        if dotted in _LIST_KEYS and isinstance(value, str):
            value = [value]
        _set(tree, dotted, value)
        source[dotted] = "flags"
    cfg = _convert(tree, source)
    _validate(cfg, source)
    return cfg
