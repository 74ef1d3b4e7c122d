// Search: spans by the same filters as `agenttrace spans` (GET /api/v1/spans), newest
// first, paged by the server's cursor.
import { get } from "../api.js";
import { go, link } from "../router.js";
import { KINDS, empty, fmtCompact, fmtCost, fmtMs, fmtTime, h, kindBadge } from "../util.js";

const FIELDS = ["since", "until", "service", "kind", "model", "status", "session", "name", "trace"];

export async function render(root, _args, params, stale) {
  const p = { since: "1h", ...params };
  const facets = await get("/facets", { since: p.since }).catch(() => ({ services: [], kinds: [], models: [] }));
  if (stale()) return;
  const inputs = {};
  const text = (name, placeholder, width = "140px") =>
    (inputs[name] = h("input", { type: "text", name, value: p[name] || "", placeholder, style: { width }, "aria-label": name }));
  const select = (name, options, all) =>
    (inputs[name] = h("select", { name, "aria-label": name }, h("option", { value: "" }, all),
      options.map((o) => h("option", { value: o, selected: o === p[name] }, o))));
  const form = h("form", { class: "filters", role: "search" },
    h("label", {}, "Since", text("since", "1h, 24h, ISO", "90px")), h("label", {}, "Until", text("until", "now", "90px")),
    h("label", {}, "Service", select("service", facets.services, "any")),
    h("label", {}, "Kind", select("kind", KINDS, "any")), h("label", {}, "Model", select("model", facets.models, "any")),
    h("label", {}, "Status", select("status", ["ok", "error", "unset"], "any")),
    h("label", {}, "Session", text("session", "session id")), h("label", {}, "Name contains", text("name", "text")),
    h("label", {}, "Trace", text("trace", "32 hex digits", "150px")),
    h("button", { type: "submit", class: "primary" }, "Search"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    go("search", Object.fromEntries(FIELDS.map((f) => [f, inputs[f].value.trim()])));
  });
  root.append(h("div", { class: "view-head" }, h("h1", {}, "Search spans"),
    h("span", { class: "sub" }, "the filters of ", h("code", {}, "agenttrace spans"))), form);

  const tbody = h("tbody", {});
  const more = h("button", {}, "Load more");
  const count = h("span", { role: "status" });
  const table = h("div", { class: "panel table-wrap" }, h("table", { "aria-label": "Spans" },
    h("thead", {}, h("tr", {}, ["Start", "Service", "Kind", "Span", "Model", "Duration", "Tokens", "Cost", "Status", "Session"].map((c, i) =>
      h("th", { class: i >= 5 && i <= 7 ? "num" : "" }, c)))), tbody));
  let cursor = null;
  let shown = 0;
  const load = async () => {
    const q = Object.fromEntries(FIELDS.map((f) => [f, p[f]]));
    const page = await get("/spans", { ...q, limit: 100, cursor });
    if (stale()) return;
    for (const s of page.spans) {
      tbody.append(h("tr", {},
        h("td", { class: "mono" }, fmtTime(s.start_ns)), h("td", {}, s.service), h("td", {}, kindBadge(s.kind)),
        h("td", { class: "trunc" }, h("a", { href: link(`traces/${s.trace_id}`, { span: s.span_id }) }, s.name)),
        h("td", { class: "trunc" }, s.model), h("td", { class: "num" }, fmtMs(s.duration_ms)),
        h("td", { class: "num" }, s.total_tokens ? fmtCompact(s.total_tokens) : ""), h("td", { class: "num" }, s.cost_usd ? fmtCost(s.cost_usd) : ""),
        h("td", { class: `status-${s.status}` }, s.status),
        h("td", { class: "trunc mono" }, s.session_id ? h("a", { href: link(`sessions/${encodeURIComponent(s.session_id)}`) }, s.session_id) : "")));
    }
    shown += page.spans.length;
    cursor = page.next_cursor;
    more.hidden = !cursor;
    count.textContent = `${shown} span${shown === 1 ? "" : "s"}${cursor ? ", more available" : ""}`;
  };
  more.addEventListener("click", () => load().catch((e) => { count.textContent = e.message; }));
  try {
    await load();
  } catch (err) {
    if (err.status === 400) { root.append(h("div", { class: "banner", role: "alert" }, err.message)); return; }
    throw err;
  }
  root.append(shown ? table : h("div", { class: "panel" }, empty("No spans match these filters.")), h("div", { class: "pager" }, count, more));
}
