// Overview: rates, cost burn, error rate and p95 over a window (15m … 30d), cost by
// model and service, and the collector's own loss and drop counters, refreshed live.
import { get } from "../api.js";
import { timeChart } from "../charts.js";
import { link } from "../router.js";
import { barList, fmtCompact, fmtCost, fmtInt, fmtMs, fmtPct, fmtRate, h, tile } from "../util.js";

export const WINDOWS = ["15m", "1h", "6h", "24h", "7d", "30d"];

export async function render(root, _args, params, stale) {
  const window = WINDOWS.includes(params.window) ? params.window : "1h";
  const service = params.service || "";
  const head = h("div", { class: "view-head" },
    h("h1", {}, "Overview"),
    h("div", { class: "seg", role: "group", "aria-label": "Window" },
      WINDOWS.map((w) => h("a", { href: link("overview", { window: w, service }), class: w === window ? "on" : "" }, w))),
    service ? h("span", { class: "sub" }, `service ${service} · `, h("a", { href: link("overview", { window }) }, "all services")) : null);
  const liveTiles = h("div", { class: "tiles", "aria-label": "Live" });
  const winTiles = h("div", { class: "tiles", "aria-label": "Window totals" });
  const charts = h("div", { class: "grid g2" });
  const lists = h("div", { class: "grid g3 mt" });
  root.append(head, liveTiles, winTiles, charts, lists);

  let panels = null;
  const timers = [];
  const ctl = new AbortController();

  async function refreshWindow() {
    const o = await get("/overview", { window, service }, { signal: ctl.signal });
    if (stale()) return;
    const t = o.totals;
    winTiles.replaceChildren(
      tile(`Spans (${window})`, fmtCompact(t.spans), { hint: `${fmtInt(t.errors)} errors` }),
      tile(`Cost (${window})`, fmtCost(t.cost_usd), { hint: `${fmtCompact(t.tokens.total_tokens)} tokens` }),
      tile("Error rate", fmtPct(t.error_rate), { err: t.error_rate > 0.05 }),
      tile("p95 latency", fmtMs(t.p95_ms), { hint: `p50 ${fmtMs(t.p50_ms)} · p99 ${fmtMs(t.p99_ms)}` }),
    );
    const s = o.series;
    const per = o.bucket;
    if (!panels) {
      charts.replaceChildren();
      panels = [
        timeChart(charts, { title: "Spans per second", t: s.t, series: [{ label: "spans/s", values: s.spans_per_s, color: "#6e9fff" }], fmt: fmtRate }),
        timeChart(charts, { title: `Cost burn (USD per ${per})`, t: s.t, series: [{ label: "cost", values: s.cost_usd, color: "#f0a04b" }], fmt: fmtCost, bars: true }),
        timeChart(charts, { title: "Error rate", t: s.t, series: [{ label: "errors", values: s.error_rate, color: "#f2555a" }], fmt: fmtPct }),
        timeChart(charts, { title: "p95 latency", t: s.t, series: [{ label: "p95", values: s.p95_ms, color: "#56c271" }], fmt: fmtMs }),
      ];
    } else {
      panels[0].update(s.t, [s.spans_per_s]);
      panels[1].update(s.t, [s.cost_usd]);
      panels[2].update(s.t, [s.error_rate]);
      panels[3].update(s.t, [s.p95_ms]);
    }
    modelPanel.replaceChildren(h("h2", {}, "Cost by model"),
      barList(o.cost_by_model.slice(0, 12), { href: () => link("costs", { since: window }) }));
    servicePanel.replaceChildren(h("h2", {}, "Cost by service"),
      barList(o.cost_by_service.slice(0, 12), { href: (r) => link("overview", { window, service: r.key }) }));
  }

  const modelPanel = h("div", { class: "panel", "data-panel": "cost-by-model" });
  const servicePanel = h("div", { class: "panel", "data-panel": "cost-by-service" });
  const lossPanel = h("div", { class: "panel", "data-panel": "loss" }, h("h2", {}, "Loss and drops"));
  lists.append(modelPanel, servicePanel, lossPanel);

  async function refreshLive() {
    const l = await get("/live", {}, { signal: ctl.signal });
    if (stale()) return;
    const costPerMin = Object.values(l.cost_per_min_by_model || {}).reduce((a, b) => a + b, 0);
    const errPerS = Object.values(l.errors_per_s_by_kind || {}).reduce((a, b) => a + b, 0);
    liveTiles.replaceChildren(
      tile("Spans/s now", fmtRate(l.spans_per_s), { hint: `${fmtRate(l.datagrams_per_s)} datagrams/s` }),
      tile("Cost burn now", fmtCost(costPerMin * 60) + "/h", { hint: `${fmtCost(l.cost_total_usd)} since start` }),
      tile("Errors/s now", fmtRate(errPerS), { err: errPerS > 0 }),
      tile("Stored", fmtCompact(l.stored_total), { hint: `${fmtInt(l.segments)} segments` }),
      tile("Lost", fmtInt(l.lost_total), { err: l.lost_total > 0, hint: "sequence gaps" }),
      tile("Dropped", fmtInt(l.dropped_total), { err: l.dropped_total > 0, hint: "all reasons" }),
    );
    const reasons = Object.entries(l.dropped_by_reason || {});
    lossPanel.replaceChildren(h("h2", {}, "Loss and drops"),
      h("table", {},
        h("tbody", {},
          h("tr", {}, h("td", {}, "datagrams received"), h("td", { class: "num" }, fmtInt(l.received_total))),
          h("tr", {}, h("td", {}, "spans stored"), h("td", { class: "num" }, fmtInt(l.stored_total))),
          h("tr", {}, h("td", {}, "lost (sender gaps)"), h("td", { class: "num" + (l.lost_total ? " status-error" : "") }, fmtInt(l.lost_total))),
          reasons.length
            ? reasons.map(([r, n]) => h("tr", {}, h("td", {}, `dropped: ${r}`), h("td", { class: "num status-error" }, fmtInt(n))))
            : h("tr", {}, h("td", {}, "dropped"), h("td", { class: "num" }, "0")),
          h("tr", {}, h("td", {}, "ring fill"), h("td", { class: "num" }, (l.ring_fill || []).map((f) => fmtPct(f)).join(" · ") || "–")),
          h("tr", {}, h("td", {}, "workers"), h("td", { class: "num" },
            `${(l.workers || []).filter((w) => w.alive).length}/${(l.workers || []).length} alive`)))));
  }

  const quiet = (fn) => () => fn().catch((e) => { if (e.name !== "AbortError") console.warn(e.message); });
  await Promise.all([refreshWindow(), refreshLive().catch(() => {})]);
  timers.push(setInterval(quiet(refreshLive), 1000));
  timers.push(setInterval(quiet(refreshWindow), ["15m", "1h"].includes(window) ? 5000 : 30000));
  return () => { ctl.abort(); timers.forEach(clearInterval); panels?.forEach((p) => p.destroy()); };
}
