"""Build the catalogue from a LiteLLM-format price file (``agenttrace pricing update``).

LiteLLM's file maps a model name to a dict of per-token USD prices such as
``input_cost_per_token``, ``cache_read_input_token_cost_above_200k_tokens`` or
``output_cost_per_token_batches``. We keep every entry that has at least one
per-token price, convert each price to USD per million tokens as an exact decimal
string (``3e-06`` -> ``"3"``), and name it with our compact key (see
:mod:`agenttrace.pricing.catalogue`). Prices per second, image, character, query or
page, and service tiers other than batch/priority/flex, are not carried (counted in
the header as ``price_keys_not_carried``). The hand-kept supplement is merged last.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import msgspec

from agenttrace.pricing.catalogue import CATALOGUE_FORMAT, KINDS, CatalogueFile, Entry, price_key
from agenttrace.pricing.supplement import CHECKED, PATCHES, SUPPLEMENT

__all__ = ["BuildResult", "build_catalogue", "convert_entry", "write_catalogue"]

# LiteLLM base key (after removing the tier suffixes) -> our short kind
_BASE_KEYS: dict[str, str] = {
    "input_cost_per_token": "i",
    "output_cost_per_token": "o",
    "cache_read_input_token_cost": "cr",
    "cache_creation_input_token_cost": "cw",
    "cache_creation_input_token_cost_above_1hr": "cw1h",
    "output_cost_per_reasoning_token": "r",
    "input_cost_per_audio_token": "ai",
    "output_cost_per_audio_token": "ao",
    "cache_read_input_audio_token_cost": "acr",
    "input_cost_per_image_token": "ii",
    "output_cost_per_image_token": "io",
}
# DeepSeek's entries name their cache-read price this way; used when `cr` is absent.
_CACHE_HIT_KEY = "input_cost_per_token_cache_hit"
_TIER_SUFFIX = {"batches": "batch", "priority": "priority", "flex": "flex"}
_KEY_RE = re.compile(r"^(?P<base>[a-z0-9_]+?)(?:_above_(?P<k>\d+)k_tokens)?(?:_(?P<tier>batches|priority|flex))?$")
_MILLION = Decimal(1_000_000)


def _per_million(value: Any) -> str | None:
    """USD per token (float, int or str) -> exact USD per 1M tokens as a plain decimal string."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        # repr() of a float is the shortest string that round-trips, so 3e-06 -> "3e-06"
        d = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except InvalidOperation:
        return None
    if not d.is_finite() or d < 0:
        return None
    text = format((d * _MILLION).normalize(), "f")
    return text


def convert_entry(raw: Mapping[str, Any]) -> tuple[dict[str, str], int]:
    """The catalogue prices of one LiteLLM entry, and how many price keys were not carried."""
    prices: dict[str, str] = {}
    dropped = 0
    cache_hit: str | None = None
    for key, value in raw.items():
        if "cost" not in key or not isinstance(value, int | float | str) or isinstance(value, bool):
            continue
        if key == _CACHE_HIT_KEY:
            cache_hit = _per_million(value)
            continue
        m = _KEY_RE.match(key)
        kind = _BASE_KEYS.get(m["base"]) if m else None
        price = _per_million(value) if kind else None
        if m is None or kind is None or price is None:
            dropped += 1
            continue
        prices[price_key(kind, int(m["k"] or 0), _TIER_SUFFIX.get(m["tier"] or "", ""))] = price
    if cache_hit is not None and "cr" not in prices:
        prices["cr"] = cache_hit
    return dict(sorted(prices.items())), dropped


class BuildResult(msgspec.Struct):
    catalogue: CatalogueFile
    skipped: dict[str, int]  # mode -> entries dropped for having no per-token price


def build_catalogue(
    source: Mapping[str, Any],
    *,
    source_file: str = "",
    source_sha256: str = "",
    litellm_version: str = "",
    built: datetime | None = None,
) -> BuildResult:
    """Turn a parsed LiteLLM price file into a :class:`CatalogueFile` (supplement merged)."""
    models: dict[str, Entry] = {}
    skipped: dict[str, int] = {}
    not_carried = 0
    entries = 0
    for name, raw in source.items():
        entries += 1
        if name == "sample_spec" or not isinstance(raw, Mapping):
            continue  # LiteLLM's template entry documents the keys; it prices nothing
        prices, dropped = convert_entry(raw)
        not_carried += dropped
        if not prices:
            mode = str(raw.get("mode") or "none")
            skipped[mode] = skipped.get(mode, 0) + 1
            continue
        models[name] = Entry(c=prices, p=str(raw.get("litellm_provider") or ""), m=str(raw.get("mode") or ""))
    from_source = len(models)

    supplement_models = 0
    for name, sup in SUPPLEMENT.items():
        if name in models:
            continue  # the source lists it again: its price is the newer one
        models[name] = Entry(
            c=dict(sorted(sup["prices"].items())), p=sup["provider"], m=sup["mode"], s="supplement", k=sup["checked"]
        )
        supplement_models += 1
    patched = 0
    for name, extra in PATCHES.items():
        entry = models.get(name)
        if entry is None:
            continue
        added = {k: v for k, v in extra.items() if k not in entry.c}
        if added:
            entry.c = dict(sorted({**entry.c, **added}.items()))
            entry.s = "source+supplement"
            entry.k = CHECKED
            patched += 1

    when = (built or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    cat = CatalogueFile(
        format=CATALOGUE_FORMAT,
        models=dict(sorted(models.items())),
        kinds=KINDS,
        source={
            "file": source_file,
            "litellm_version": litellm_version or "unknown",
            "sha256": source_sha256,
            "entries": entries,
        },
        built=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        counts={
            "models": len(models),
            "from_source": from_source,
            "supplement_models": supplement_models,
            "supplement_patches": patched,
            "skipped_no_token_price": sum(skipped.values()),
            "price_keys_not_carried": not_carried,
        },
        supplement={"checked": CHECKED, "module": "agenttrace/pricing/supplement.py"},
    )
    return BuildResult(catalogue=cat, skipped=skipped)


def build_from_file(path: str | Path, *, litellm_version: str = "", built: datetime | None = None) -> BuildResult:
    """Read a LiteLLM-format JSON file and build from it."""
    p = Path(path)
    raw = p.read_bytes()
    try:
        source = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"{p}: not a JSON price file ({exc})") from None
    if not isinstance(source, dict):
        raise ValueError(f"{p}: expected a JSON object of model -> prices")
    return build_catalogue(
        source,
        source_file=p.name,
        source_sha256=hashlib.sha256(raw).hexdigest(),
        litellm_version=litellm_version,
        built=built,
    )


def dumps_catalogue(cat: CatalogueFile) -> bytes:
    """The file's bytes: a header, then one model per line so updates diff well."""
    header = msgspec.to_builtins(cat)
    header.pop("models")
    head = json.dumps(header, indent=1, sort_keys=False)
    lines = [f"{json.dumps(name)}: {msgspec.json.encode(entry).decode()}" for name, entry in cat.models.items()]
    body = head[:-2] + ',\n "models": {\n' + ",\n".join(lines) + "\n }\n}\n"
    return body.encode()


def write_catalogue(cat: CatalogueFile, path: str | Path) -> None:
    """Write ``cat`` to ``path`` atomically (temp file, fsync, rename, fsync the directory)."""
    p = Path(path)
    data = dumps_catalogue(cat)
    fd, tmp = tempfile.mkstemp(prefix=p.name + ".", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the catalogue is package data
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dfd = os.open(p.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
