// One trace: a waterfall coloured by kind (virtualised), the selected span's details,
// and the agent graph. The selected span and tab are in the URL (#/traces/ID?span=…&tab=graph).
// The tree comes from /traces/{id}/outline (light spans: a 10,000-span trace opens in
// well under a second); a selected span's content, attributes and events from
// /traces/{id}/spans/{span_id}.
import { get } from "../api.js";
import { renderGraph } from "../graph.js";
import { link, replace } from "../router.js";
import { fmtCompact, fmtCost, fmtInt, fmtMs, fmtTime, h, kindBadge, tile } from "../util.js";
import { Waterfall } from "../waterfall.js";

const TOKENS = [["input_tokens", "input"], ["cache_read_tokens", "of which cache read"], ["cache_write_tokens", "of which cache write"],
  ["output_tokens", "output"], ["reasoning_tokens", "of which reasoning"], ["total_tokens", "total"]];

function pretty(text) {
  if (!text) return text;
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return text; }
}

export function spanDetail(s) {
  const rows = [
    ["Kind", kindBadge(s.kind)], ["Status", h("span", { class: `status-${s.status}` }, s.status)],
    ["Start", fmtTime(s.start_ns)], ["Duration", fmtMs(s.duration_ms)], ["Service", s.service],
    ["Span id", h("span", { class: "mono" }, s.span_id)], ["Parent", h("span", { class: "mono" }, s.parent_id || "(root)")],
  ];
  if (s.session_id) rows.push(["Session", h("a", { href: link(`sessions/${encodeURIComponent(s.session_id)}`) }, s.session_id)]);
  if (s.user_id) rows.push(["User", s.user_id]);
  if (s.environment) rows.push(["Environment", s.environment]);
  if (s.tags?.length) rows.push(["Tags", s.tags.join(", ")]);
  if (s.model) rows.push(["Model", `${s.model}${s.provider ? " (" + s.provider + ")" : ""}${s.service_tier ? " · " + s.service_tier : ""}`]);
  rows.push(["Cost", s.cost_usd === null ? h("span", { class: "muted" }, s.total_tokens ? "not priced" : "–") : `${fmtCost(s.cost_usd)}${s.cost_source ? " · " + s.cost_source : ""}`]);
  const out = [h("h3", { class: "span-name" }, s.name), h("dl", {}, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))];
  if (s.status === "error") out.push(h("h3", {}, "Error"), h("div", { class: "error-box", role: "alert" }, s.status_message || "error"));
  if (s.total_tokens) {
    out.push(h("h3", {}, "Tokens"), h("table", { "aria-label": "Tokens" }, h("tbody", {},
      TOKENS.filter(([k]) => s[k] || k === "input_tokens" || k === "output_tokens").map(([k, label]) =>
        h("tr", {}, h("td", {}, label), h("td", { class: "num" }, fmtInt(s[k])))))));
  }
  if (s.input_preview) out.push(h("h3", {}, "Input"), h("pre", { "data-field": "input" }, pretty(s.input_preview)));
  if (s.output_preview) out.push(h("h3", {}, "Output"), h("pre", { "data-field": "output" }, pretty(s.output_preview)));
  const attrs = Object.entries(s.attributes || {});
  if (attrs.length) {
    out.push(h("h3", {}, "Attributes"), h("table", { "aria-label": "Attributes" }, h("tbody", {},
      attrs.sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) =>
        h("tr", {}, h("td", { class: "mono muted" }, k), h("td", { class: "mono" }, typeof v === "string" ? v : JSON.stringify(v)))))));
  }
  if (s.events?.length) {
    out.push(h("h3", {}, `Events (${s.events.length})`), h("table", { "aria-label": "Events" }, h("tbody", {},
      s.events.map((e) => h("tr", {},
        h("td", { class: "mono muted" }, e.time_ns ? fmtMs((e.time_ns - s.start_ns) / 1e6) : ""),
        h("td", {}, e.name || ""), h("td", { class: "mono" }, e.attributes ? JSON.stringify(e.attributes) : ""))))));
  }
  return out;
}

// The outline sends its spans as columns (half the bytes of one object per span); the
// waterfall and the graph read rows.
export function outlineRows(c) {
  const n = c.span_id.length;
  const rows = new Array(n);
  for (let i = 0; i < n; i++) {
    rows[i] = {
      span_id: c.span_id[i], parent_id: c.parent_id[i], name: c.name[i], kind: c.kind[i], status: c.status[i],
      status_message: c.status_message[i], start_ns: c.start_ns[i], end_ns: c.end_ns[i],
      duration_ms: (c.end_ns[i] - c.start_ns[i]) / 1e6, service: c.service[i], model: c.model[i],
      total_tokens: c.total_tokens[i], cost_usd: c.cost_usd[i],
    };
  }
  return rows;
}

export async function render(root, args, params, stale) {
  const id = args[0];
  const t0 = performance.now();
  const tr = await get(`/traces/${encodeURIComponent(id)}/outline`);
  if (stale()) return;
  tr.spans = outlineRows(tr.spans);
  const tab = params.tab === "graph" ? "graph" : "waterfall";
  const root0 = tr.spans.find((s) => s.span_id === tr.root_ids[0]) || tr.spans[0];
  root.append(
    h("div", { class: "view-head" },
      tr.session_id ? [h("a", { href: link(`sessions/${encodeURIComponent(tr.session_id)}`) }, tr.session_id), h("span", { class: "muted" }, "/")] : null,
      h("h1", {}, root0.name), h("span", { class: "sub mono" }, tr.trace_id),
      h("div", { class: "seg", role: "tablist" },
        h("a", { role: "tab", href: link(`traces/${id}`, { span: params.span }), class: tab === "waterfall" ? "on" : "", "aria-selected": String(tab === "waterfall") }, "Waterfall"),
        h("a", { role: "tab", href: link(`traces/${id}`, { span: params.span, tab: "graph" }), class: tab === "graph" ? "on" : "", "aria-selected": String(tab === "graph") }, "Agent graph"))),
    h("div", { class: "tiles" },
      tile("Spans", fmtInt(tr.span_count)), tile("Errors", fmtInt(tr.errors), { err: tr.errors > 0 }),
      tile("Duration", fmtMs(tr.duration_ms)), tile("Tokens", fmtCompact(tr.tokens.total_tokens)),
      tile("Cost", fmtCost(tr.cost_usd)), tile("Services", tr.services.join(", ") || "–")),
  );
  if (tab === "graph") {
    renderGraph(root, tr);
    return;
  }
  const layout = h("div", { class: "trace-layout" });
  const detail = h("div", { class: "panel detail", "aria-label": "Span detail", role: "region" });
  root.append(layout);
  const full = new Map();
  let want = null;
  const show = async (s, remember = true) => {
    want = s.span_id;
    if (remember) replace(`traces/${id}`, { span: s.span_id });
    if (!full.has(s.span_id)) {
      detail.replaceChildren(h("h3", { class: "span-name" }, s.name), h("p", { class: "muted" }, "loading…"));
      full.set(s.span_id, await get(`/traces/${id}/spans/${s.span_id}`));
    }
    if (want === s.span_id && !stale()) detail.replaceChildren(...spanDetail(full.get(s.span_id)));
  };
  const wf = new Waterfall(layout, tr, {
    selected: params.span,
    onSelect: (s) => show(s).catch((e) => detail.replaceChildren(h("div", { class: "banner" }, e.message))),
  });
  layout.append(detail);
  const first = tr.spans.find((s) => s.span_id === wf.selected) || root0;
  show(first, false).catch((e) => detail.replaceChildren(h("div", { class: "banner" }, e.message)));
  // How long opening this trace took (fetch, parse, tree, first paint of the rows): the
  // 10,000-span test reads it.
  requestAnimationFrame(() => {
    const ms = performance.now() - t0;
    document.body.dataset.traceOpenMs = ms.toFixed(1);
    performance.measure?.("trace-open", { start: t0, end: t0 + ms });
  });
  return () => wf.destroy();
}
