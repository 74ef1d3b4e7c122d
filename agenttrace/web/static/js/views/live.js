// Live: spans as they reach the store (GET /api/v1/stream, read with fetch so the API
// key can travel as a header), filterable by service, kind and session, with pause.
import { get, stream } from "../api.js";
import { go, link } from "../router.js";
import { KINDS, fmtClock, fmtCompact, fmtCost, fmtInt, fmtMs, h, kindBadge } from "../util.js";

const MAX_ROWS = 500;

export async function render(root, _args, params, stale) {
  const p = { service: params.service || "", kind: params.kind || "", session: params.session || "" };
  const facets = await get("/facets", { since: "24h" }).catch(() => ({ services: [] }));
  if (stale()) return;
  let paused = false;
  const buffered = [];
  let received = 0;
  let skipped = 0;  // spans the server left out: more than a poll shows at once
  const pauseBtn = h("button", { class: "primary", "aria-pressed": "false" }, "Pause");
  const counter = h("span", { class: "muted", role: "status" }, "waiting for spans…");
  const tbody = h("tbody", {});
  const filters = h("div", { class: "filters" },
    h("label", {}, "Service", h("select", { "aria-label": "Service", onchange: (e) => go("live", { ...p, service: e.target.value }) },
      h("option", { value: "" }, "all services"), facets.services.map((s) => h("option", { value: s, selected: s === p.service }, s)))),
    h("label", {}, "Kind", h("select", { "aria-label": "Kind", onchange: (e) => go("live", { ...p, kind: e.target.value }) },
      h("option", { value: "" }, "all kinds"), KINDS.map((k) => h("option", { value: k, selected: k === p.kind }, k)))),
    h("label", {}, "Session", (() => {
      const i = h("input", { type: "text", value: p.session, placeholder: "session id", "aria-label": "Session" });
      i.addEventListener("change", () => go("live", { ...p, session: i.value }));
      return i;
    })()),
    pauseBtn, counter);
  root.append(h("div", { class: "view-head" }, h("h1", {}, "Live"), h("span", { class: "sub" }, "spans appear as workers store them (about once a second)")),
    filters,
    h("div", { class: "panel table-wrap" }, h("table", { class: "live-table", "aria-label": "Live spans" },
      h("thead", {}, h("tr", {}, ["Time", "Service", "Kind", "Span", "Model", "Duration", "Tokens", "Cost", "Status"].map((c, i) =>
        h("th", { class: i >= 5 && i <= 7 ? "num" : "" }, c)))), tbody)));

  const row = (s) => h("tr", { class: "fresh" },
    h("td", { class: "mono" }, fmtClock(s.start_ns)), h("td", {}, s.service), h("td", {}, kindBadge(s.kind)),
    h("td", { class: "trunc" }, h("a", { href: link(`traces/${s.trace_id}`, { span: s.span_id }) }, s.name)),
    h("td", { class: "trunc" }, s.model || ""), h("td", { class: "num" }, fmtMs(s.duration_ms)),
    h("td", { class: "num" }, s.total_tokens ? fmtCompact(s.total_tokens) : ""),
    h("td", { class: "num" }, s.cost_usd ? fmtCost(s.cost_usd) : ""),
    h("td", { class: `status-${s.status}` }, s.status));
  const show = (spans) => {
    const frag = document.createDocumentFragment();
    for (let i = spans.length - 1; i >= Math.max(0, spans.length - MAX_ROWS); i--) frag.append(row(spans[i]));
    tbody.prepend(frag);
    while (tbody.children.length > MAX_ROWS) tbody.lastChild.remove();
  };
  const status = () => {
    counter.textContent = `${fmtInt(received)} spans received` + (skipped ? ` (${fmtInt(skipped)} more arrived than shown)` : "") +
      (paused ? ` · paused, ${fmtInt(buffered.length)} waiting` : "");
  };
  pauseBtn.addEventListener("click", () => {
    paused = !paused;
    pauseBtn.textContent = paused ? "Resume" : "Pause";
    pauseBtn.setAttribute("aria-pressed", String(paused));
    if (!paused) { show(buffered.splice(0)); }
    status();
  });

  const ctl = new AbortController();
  const run = async () => {
    for (let attempt = 0; !ctl.signal.aborted; attempt++) {
      try {
        await stream("/stream", p, (event, data) => {
          if (event === "skipped") { skipped = data.skipped; status(); return; }
          if (event !== "spans") return;
          received += data.length;
          if (paused) { buffered.push(...data); buffered.splice(0, Math.max(0, buffered.length - MAX_ROWS)); } else show(data);
          status();
        }, { signal: ctl.signal });
      } catch (err) {
        if (err.name === "AbortError") return;
        counter.textContent = `stream interrupted (${err.message}); reconnecting…`;
      }
      await new Promise((r) => setTimeout(r, Math.min(5000, 500 * (attempt + 1))));
    }
  };
  run();
  return () => ctl.abort();
}
