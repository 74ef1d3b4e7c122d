"""``agenttrace pricing``: update the catalogue, show a model's prices, check the store."""

from __future__ import annotations

import json
import re
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from agenttrace.errors import AgentTraceError
from agenttrace.model import Usage

app = typer.Typer(
    name="pricing",
    help="Model price catalogue: update it, show what a model costs, find unpriced models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_PARTS = ("input", "cache_read", "cache_write", "cache_write_1h", "output", "reasoning")
_RATE_FIELDS = ("input", "cache_read", "cache_write", "cache_write_1h", "output", "reasoning")
_KEY_INDEX = {"input": 0, "output": 1, "cache_read": 2, "cache_write": 3, "cache_write_1h": 4, "reasoning": 5}

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Collector TOML config whose [pricing] aliases/overrides apply.")
]
CatalogueOpt = Annotated[
    Path | None, typer.Option("--catalogue", help="Catalogue file to use instead of the shipped one.")
]
_FALLBACK_NOTES = {
    "(no cache-read price)": "the entry has no cache-read price; the input price applies",
    "(no cache-write price)": "the entry has no cache-write price; the input price applies",
    "(no 1h cache-write price)": "the entry has no 1-hour cache-write price; the 5-minute one applies",
    "(no reasoning price)": "the entry has no reasoning price; the output price applies",
    "(below-threshold price is higher)": "raised to the price below the threshold (never cheaper for a longer prompt)",
}
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"agenttrace pricing: {message}", err=True)
    raise typer.Exit(code)


def _stage(config: Path | None, catalogue: Path | None):  # -> CostStage
    from agenttrace.pricing.catalogue import load_catalogue
    from agenttrace.pricing.stage import CostStage, PricingConfig, load_pricing_config

    try:
        cfg = load_pricing_config(config) if config else PricingConfig()
        cat = load_catalogue(catalogue) if catalogue else cfg.load_catalogue()
    except (AgentTraceError, OSError, ValueError) as exc:
        _fail(str(exc))
    return CostStage(cat, cfg.aliases, cfg.overrides)


def _per_million(atto: int) -> str:
    return _fmt(Decimal(atto) / Decimal(10**12))


def _fmt(d: Decimal) -> str:
    text = format(d.normalize(), "f")
    return text


@app.command("update")
def update(
    source: Annotated[Path, typer.Option("--from", help="LiteLLM-format price file (model_prices_*.json).")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Where to write the catalogue (default: <data dir>/pricing/catalogue.json, "
            "or /etc/agenttrace/catalogue.json as root; read before the shipped one).",
        ),
    ] = None,
    litellm_version: Annotated[
        str, typer.Option("--litellm-version", help="LiteLLM release the file comes from, recorded in the header.")
    ] = "",
    as_json: JsonOpt = False,
) -> None:
    """Build the catalogue from a LiteLLM-format price file (the supplement is merged in)."""
    from agenttrace.pricing.build import build_from_file, write_catalogue
    from agenttrace.pricing.catalogue import Catalogue, default_catalogue, update_target

    target = out or update_target()
    try:
        result = build_from_file(source, litellm_version=litellm_version)
    except (OSError, ValueError) as exc:
        _fail(str(exc))
    new = result.catalogue
    try:
        old = Catalogue.from_bytes(target.read_bytes()).data.models
    except (OSError, ValueError):
        # No previous update here: compare with the catalogue in use until now.
        old = {} if out is not None else default_catalogue().data.models
    changes = {
        "added": len(new.models.keys() - old.keys()),
        "removed": len(old.keys() - new.models.keys()),
        "changed": sum(1 for k in new.models.keys() & old.keys() if new.models[k].c != old[k].c),
    }
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_catalogue(new, target)
    except OSError as exc:
        _fail(f"cannot write {target}: {exc}")
    if as_json:
        typer.echo(
            json.dumps({"path": str(target), "source": new.source, "built": new.built, "counts": new.counts, **changes})
        )
        return
    c = new.counts
    typer.echo(f"wrote {target}")
    typer.echo(
        f"  source  {new.source['file']} (LiteLLM {new.source['litellm_version']}, "
        f"{new.source['entries']} entries), built {new.built}"
    )
    typer.echo(
        f"  models  {c['models']} ({c['from_source']} from the source, {c['supplement_models']} from the "
        f"supplement, {c['supplement_patches']} patched)"
    )
    typer.echo(f"  skipped {c['skipped_no_token_price']} entries with no per-token price")
    typer.echo(f"  vs previous: +{changes['added']} -{changes['removed']} ~{changes['changed']} prices changed")


@app.command("show")
def show(
    model: Annotated[str, typer.Argument(help="Model string as a span carries it.")],
    provider: Annotated[str, typer.Option("--provider", help="The span's provider field, if any.")] = "",
    input_tokens: Annotated[int, typer.Option("--input", help="Price a request: input tokens (all).")] = 0,
    output_tokens: Annotated[int, typer.Option("--output", help="Output tokens (reasoning included).")] = 0,
    cache_read: Annotated[int, typer.Option("--cache-read", help="Of the input: cache reads.")] = 0,
    cache_write: Annotated[int, typer.Option("--cache-write", help="Of the input: cache writes.")] = 0,
    cache_write_1h: Annotated[int, typer.Option("--cache-write-1h", help="Of the cache writes: 1-hour ones.")] = 0,
    reasoning: Annotated[int, typer.Option("--reasoning", help="Of the output: reasoning tokens.")] = 0,
    tier: Annotated[str, typer.Option("--tier", help="Service tier: batch, priority or flex.")] = "",
    config: ConfigOpt = None,
    catalogue: CatalogueOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the entry MODEL matches, how it matched, and every price it would apply."""
    from agenttrace.pricing.calculate import breakdown
    from agenttrace.pricing.match import candidates

    stage = _stage(config, catalogue)
    m = stage.match(model, provider)
    if m.prices is None:
        tried = [name for _, name in candidates(model, provider)]
        if as_json:
            typer.echo(json.dumps({"model": model, "provider": provider, "found": False, "tried": tried}))
        else:
            typer.echo(f"{model}: no price (tried {', '.join(tried)})")
            typer.echo("add an alias or an override under [pricing] in the collector config (docs/pricing.md)")
        raise typer.Exit(1)
    mp = m.prices
    rows = []
    for threshold in (0, *sorted(mp.thresholds)):
        for t in ("", *mp.tiers):
            r = mp.rates(threshold, t)
            rows.append(
                {
                    "above_tokens": threshold * 1000,
                    "tier": t or "standard",
                    **{f: _per_million(getattr(r, f)) for f in _RATE_FIELDS},
                    "keys": {f: r.keys[_KEY_INDEX[f]] for f in _RATE_FIELDS},
                }
            )
    bill = None
    if input_tokens or output_tokens or cache_read or cache_write or reasoning:
        usage = Usage(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            cache_write_1h_tokens=cache_write_1h,
            reasoning_tokens=reasoning,
        )
        bill = breakdown(mp, usage, tier)
    header = stage.catalogue.header
    info: dict[str, Any] = {
        "model": model,
        "provider": provider,
        "found": True,
        "matched": m.name,
        "rules": list(m.rules),
        "cost_source": m.source,
        "entry": {
            "provider": mp.provider,
            "mode": mp.mode,
            "source": mp.source or "litellm",
            "checked": mp.checked,
            "prices_per_million": {k: _fmt(v) for k, v in sorted(mp.prices.items())},
        },
        "rates_per_million": rows,
        "catalogue": {"path": header["path"], "source": header["source"], "built": header["built"]},
    }
    if bill is not None:
        info["bill"] = {
            "total_usd": str(bill.total_usd),
            "above_tokens": bill.threshold_k * 1000,
            "tier": bill.service_tier or "standard",
            "lines": [
                {
                    "part": ln.part,
                    "tokens": ln.tokens,
                    "usd_per_million": _fmt(ln.usd_per_million),
                    "usd": str(ln.usd),
                    "price_key": ln.price_key,
                }
                for ln in bill.lines
            ],
        }
    if as_json:
        typer.echo(json.dumps(info))
        return
    _print_show(info)


def _print_show(info: dict[str, Any]) -> None:
    e = info["entry"]
    src = info["catalogue"]["source"]
    typer.echo(f"model     {info['model']}" + (f"  (provider {info['provider']})" if info["provider"] else ""))
    typer.echo(f"matched   {info['matched']}  via {' -> '.join(info['rules'])}")
    origin = e["source"] + (f", checked {e['checked']}" if e["checked"] else "")
    typer.echo(f"entry     provider {e['provider'] or '-'}, mode {e['mode'] or '-'}, from {origin}")
    if info["cost_source"] != "override":
        typer.echo(
            f"catalogue {src.get('file', '?')} (LiteLLM {src.get('litellm_version', '?')}), "
            f"built {info['catalogue']['built']}"
        )
    typer.echo("prices    USD per 1M tokens; * = fallback (see below)")
    cols = ("input", "cache_read", "cache_write", "cache_write_1h", "output", "reasoning")
    head = f"  {'request':<28}" + "".join(f"{c:>15}" for c in cols)
    typer.echo(head)
    notes: set[str] = set()
    for row in info["rates_per_million"]:
        label = row["tier"] + (f", input > {row['above_tokens']:,}" if row["above_tokens"] else "")
        cells = []
        for c in cols:
            key = row["keys"][c]
            mark = "*" if "(" in key else " "
            if mark == "*":
                reasons = [_FALLBACK_NOTES.get(f"({r})", r) for r in re.findall(r"\(([^)]*)\)", key)]
                notes.add(f"{c}: {'; '.join(reasons)}")
            cells.append(f"{row[c] + mark:>15}")
        typer.echo(f"  {label:<28}" + "".join(cells))
    for n in sorted(notes):
        typer.echo(f"  * {n}")
    media = ("ai", "ao", "acr", "ii", "io")
    extra = sorted(k for k in e["prices_per_million"] if k.split(">")[0].split("/")[0] in media)
    if extra:
        kinds = ", ".join(f"{k}={e['prices_per_million'][k]}" for k in extra)
        typer.echo(f"  audio/image token prices (not billed: spans carry no audio/image counts): {kinds}")
    bill = info.get("bill")
    if bill:
        where = bill["tier"] + (f", input > {bill['above_tokens']:,}" if bill["above_tokens"] else "")
        typer.echo(f"bill      ({where})")
        for ln in bill["lines"]:
            typer.echo(
                f"  {ln['part']:<15}{ln['tokens']:>12,} x {ln['usd_per_million']:>10}/1M = ${ln['usd']}"
                f"  [{ln['price_key']}]"
            )
        typer.echo(f"  {'total':<15}{'':>12}   {'':>10}     = ${bill['total_usd']}")


@app.command("check")
def check(
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Store directory (default: $AGENTTRACE_DATA_DIR or XDG).")
    ] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the models seen in the store that match no catalogue entry, alias or override.
    Exits 1 when there are any (so a script or CI can notice)."""
    from agenttrace.paths import default_data_dir
    from agenttrace.pricing.stage import load_pricing_config
    from agenttrace.pricing.store import unknown_models_in_store

    directory = data_dir or default_data_dir()
    if not directory.is_dir():
        _fail(f"no store at {directory} (pass --data-dir)")
    try:
        cfg = load_pricing_config(config) if config else None
        rows = unknown_models_in_store(directory, cfg)
    except (AgentTraceError, OSError) as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps([{"model": m, "spans": s, "tokens": t} for m, s, t in rows]))
    elif not rows:
        typer.echo(f"every model in {directory} has a price")
    else:
        typer.echo(f"{len(rows)} model(s) in {directory} match no price (their spans have no cost):")
        typer.echo(f"  {'model':<50}{'spans':>10}{'tokens':>14}")
        for m, s, t in rows:
            typer.echo(f"  {m:<50}{s:>10,}{t:>14,}")
        typer.echo("add an alias or an override under [pricing] in the collector config (docs/pricing.md)")
    if rows:
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover - `python -m agenttrace.pricing.cli`
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
