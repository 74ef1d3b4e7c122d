// One session: totals and its traces on a timeline (GET /api/v1/sessions/{id}).
import { get } from "../api.js";
import { link } from "../router.js";
import { fmtCompact, fmtCost, fmtInt, fmtMs, fmtTime, h, tile } from "../util.js";

export async function render(root, args, _params, stale) {
  const id = args[0];
  const d = await get(`/sessions/${encodeURIComponent(id)}`);
  if (stale()) return;
  const s = d.summary;
  root.append(
    h("div", { class: "view-head" },
      h("a", { href: link("sessions") }, "Sessions"), h("span", { class: "muted" }, "/"),
      h("h1", { class: "mono" }, s.session_id),
      h("span", { class: "sub" }, `${s.service}${s.user_id ? " · user " + s.user_id : ""} · ${fmtTime(s.first_seen_ns)}`),
      h("a", { href: link("live", { session: s.session_id }) }, "follow live")),
    h("div", { class: "tiles" },
      tile("Traces", fmtInt(s.traces)), tile("Spans", fmtInt(s.spans)),
      tile("Errors", fmtInt(s.errors), { err: s.errors > 0 }), tile("Tokens", fmtCompact(s.tokens.total_tokens),
        { hint: `${fmtCompact(s.tokens.input_tokens)} in · ${fmtCompact(s.tokens.output_tokens)} out` }),
      tile("Cost", fmtCost(s.cost_usd)), tile("Duration", fmtMs(s.duration_ms), { hint: s.models.join(", ") })),
  );
  const t0 = s.first_seen_ns;
  const span = Math.max(1, s.last_seen_ns - t0);
  const rows = d.traces.map((t) => h("tr", {},
    h("td", { class: "trunc" }, h("a", { href: link(`traces/${t.trace_id}`) }, t.root_name || t.trace_id)),
    h("td", { class: "tl" }, h("div", { class: "tl-track" }, h("div", {
      class: "tl-bar" + (t.errors ? " error" : ""), title: `${fmtTime(t.start_ns)} · ${fmtMs(t.duration_ms)}`,
      style: { left: `${(100 * (t.start_ns - t0)) / span}%`, width: `${(100 * (t.end_ns - t.start_ns)) / span}%` },
    }))),
    h("td", { class: "num" }, fmtMs(t.duration_ms)), h("td", { class: "num" }, fmtInt(t.spans)),
    h("td", { class: "num" + (t.errors ? " status-error" : "") }, fmtInt(t.errors)),
    h("td", { class: "num" }, fmtCompact(t.tokens.total_tokens)), h("td", { class: "num" }, fmtCost(t.cost_usd))));
  root.append(h("div", { class: "panel table-wrap" },
    h("h2", {}, "Traces on a timeline"),
    h("table", { class: "timeline", "aria-label": "Traces" },
      h("thead", {}, h("tr", {}, ["Trace", "Timeline", "Duration", "Spans", "Errors", "Tokens", "Cost"].map((c, i) =>
        h("th", { class: i >= 2 ? "num" : "" }, c)))),
      h("tbody", {}, rows),
      h("tfoot", {}, h("tr", {}, h("th", {}, "Total"), h("th", {}), h("th", { class: "num" }, fmtMs(s.duration_ms)),
        h("th", { class: "num" }, fmtInt(s.spans)), h("th", { class: "num" }, fmtInt(s.errors)),
        h("th", { class: "num" }, fmtCompact(s.tokens.total_tokens)), h("th", { class: "num" }, fmtCost(s.cost_usd)))))));
}
