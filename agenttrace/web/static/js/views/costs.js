// Costs: tokens and cost by model, service and day, and the models nobody priced yet.
import { get } from "../api.js";
import { link } from "../router.js";
import { barList, empty, fmtCompact, fmtCost, fmtInt, fmtPct, h, tile } from "../util.js";

const RANGES = [["24h", "24 hours"], ["7d", "7 days"], ["30d", "30 days"], ["", "all time"]];
const TOKEN_COLS = [["input_tokens", "Input"], ["cache_read_tokens", "Cache read"], ["cache_write_tokens", "Cache write"],
  ["output_tokens", "Output"], ["reasoning_tokens", "Reasoning"]];

function costTable(report, label) {
  if (!report.rows.length) return empty("No spend in this range.");
  return h("table", { "aria-label": `Cost by ${label}` },
    h("thead", {}, h("tr", {}, h("th", {}, label), h("th", { class: "num" }, "Spans"),
      TOKEN_COLS.map(([, l]) => h("th", { class: "num" }, l)), h("th", { class: "num" }, "Cost"), h("th", { class: "num" }, "Share"))),
    h("tbody", {}, report.rows.map((r) => h("tr", {},
      h("td", { class: "trunc" }, r.key || h("span", { class: "muted" }, "(none)")), h("td", { class: "num" }, fmtInt(r.spans)),
      TOKEN_COLS.map(([k]) => h("td", { class: "num" }, fmtCompact(r.tokens[k]))),
      h("td", { class: "num" }, fmtCost(r.cost_usd)), h("td", { class: "num" }, fmtPct(r.share))))));
}

export async function render(root, _args, params, stale) {
  const since = params.since ?? "30d";
  const q = since === "all" ? "" : since;
  const [byModel, byService, byDay, unpriced, byCommit] = await Promise.all([
    get("/metrics/costs", { by: "model", since: q }), get("/metrics/costs", { by: "service", since: q }),
    get("/metrics/costs", { by: "day", since: q }), get("/costs/unpriced", { since: q }),
    get("/costs/by-commit", { since: q }),
  ]);
  if (stale()) return;
  const tt = byModel.total_tokens;
  root.append(
    h("div", { class: "view-head" }, h("h1", {}, "Costs"),
      h("div", { class: "seg", role: "group", "aria-label": "Range" },
        RANGES.map(([v, l]) => h("a", { href: link("costs", { since: v || "all" }), class: since === (v || "all") ? "on" : "" }, l)))),
    h("div", { class: "tiles" },
      tile("Total cost", fmtCost(byModel.total_cost_usd)), tile("Tokens", fmtCompact(tt.total_tokens)),
      tile("Input", fmtCompact(tt.input_tokens), { hint: `${fmtCompact(tt.cache_read_tokens)} cache read` }),
      tile("Output", fmtCompact(tt.output_tokens), { hint: `${fmtCompact(tt.reasoning_tokens)} reasoning` }),
      tile("Unpriced models", fmtInt(unpriced.models.length), { err: unpriced.models.length > 0 })),
    h("div", { class: "grid g2" },
      h("div", { class: "panel" }, h("h2", {}, "Cost by day"), barList(byDay.rows.slice(-31))),
      h("div", { class: "panel" }, h("h2", {}, "Cost by model"), barList(byModel.rows.slice(0, 15)))),
    h("div", { class: "panel mt table-wrap" }, h("h2", {}, "By model"), costTable(byModel, "Model")),
    h("div", { class: "panel mt table-wrap" }, h("h2", {}, "By service"), costTable(byService, "Service")),
    h("div", { class: "panel mt table-wrap", "data-panel": "by-commit" }, h("h2", {}, "By commit"),
      byCommit.rows.length
        ? costTable({ rows: byCommit.rows.map((r) => ({ ...r, key: `${r.commit.slice(0, 12)} ${r.message}` })) }, "Commit")
        : h("p", { class: "muted" }, "No commit was linked in this range. Run a coding agent under ",
            h("code", {}, "agenttrace wrap -- CMD"), " (or record ", h("code", {}, "at.git_link(sha)"),
            "): each model call of its session is charged to the first commit made after it.")),
    h("div", { class: "panel mt", "data-panel": "unpriced" }, h("h2", {}, "Unpriced models"),
      unpriced.models.length
        ? [h("table", { "aria-label": "Unpriced models" },
            h("thead", {}, h("tr", {}, h("th", {}, "Model"), h("th", {}, "Provider"), h("th", { class: "num" }, "Spans"),
              h("th", { class: "num" }, "Input tokens"), h("th", { class: "num" }, "Output tokens"))),
            h("tbody", {}, unpriced.models.map((m) => h("tr", {}, h("td", { class: "mono" }, m.model), h("td", {}, m.provider || "–"),
              h("td", { class: "num" }, fmtInt(m.spans)), h("td", { class: "num" }, fmtInt(m.input_tokens)), h("td", { class: "num" }, fmtInt(m.output_tokens)))))),
          h("p", { class: "muted" }, unpriced.how_to_price),
          h("pre", { class: "mono", style: { background: "var(--bg)", padding: "8px", border: "1px solid var(--border)" } },
            unpriced.models.slice(0, 3).map((m) => `[pricing.overrides."${m.model}"]\ninput = 1.00    # USD per 1M input tokens\noutput = 4.00   # USD per 1M output tokens\n`).join("\n"))]
        : h("p", { class: "muted" }, "Every model with tokens in this range has a price.")),
  );
}
