// Sessions: search and filters in the URL, sorted and paginated by the server
// (GET /api/v1/session-search).
import { get } from "../api.js";
import { go, link } from "../router.js";
import { debounce, empty, fmtAgo, fmtCompact, fmtCost, fmtInt, fmtMs, h } from "../util.js";

const RANGES = [["15m", "15 min"], ["1h", "1 hour"], ["24h", "24 hours"], ["7d", "7 days"], ["30d", "30 days"], ["", "all time"]];
const COLUMNS = [
  ["session", "Session", null], ["service", "Service", null], ["user", "User", null],
  ["last_seen", "Last active", "last_seen"], ["duration", "Duration", "duration"], ["traces", "Traces", "traces"],
  ["spans", "Spans", "spans"], ["errors", "Errors", "errors"], ["tokens", "Tokens", "tokens"], ["cost", "Cost", "cost"],
];
const PAGE = 50;

export async function render(root, _args, params, stale) {
  const p = { since: "24h", sort: "last_seen", order: "desc", offset: "0", ...params };
  const set = (changes) => go("sessions", { ...p, offset: 0, ...changes });
  const facets = await get("/facets", { since: p.since }).catch(() => ({ services: [] }));
  if (stale()) return;

  const q = h("input", { type: "search", placeholder: "session, user, service, model…", value: p.q || "", "aria-label": "Search sessions" });
  q.addEventListener("input", debounce(() => set({ q: q.value }), 350));
  const service = h("select", { "aria-label": "Service", onchange: (e) => set({ service: e.target.value }) },
    h("option", { value: "" }, "all services"),
    facets.services.map((s) => h("option", { value: s, selected: s === p.service }, s)));
  const text = (name, placeholder, width = "120px") => {
    const el = h("input", { type: "text", placeholder, value: p[name] || "", style: { width }, "aria-label": name });
    el.addEventListener("change", () => set({ [name]: el.value.trim() }));
    return el;
  };
  const user = text("user", "user id");
  const environment = text("environment", "e.g. prod", "100px");
  const tag = text("tag", "tag", "100px");
  const since = h("select", { "aria-label": "Time range", onchange: (e) => set({ since: e.target.value }) },
    RANGES.map(([v, l]) => h("option", { value: v, selected: v === (p.since || "") }, l)));
  const errors = h("input", { type: "checkbox", checked: p.errors === "true", onchange: (e) => set({ errors: e.target.checked ? "true" : "" }) });
  const minCost = h("input", { type: "number", min: "0", step: "0.01", placeholder: "0.00", value: p.min_cost || "", style: { width: "90px" }, "aria-label": "Minimum cost" });
  minCost.addEventListener("change", () => set({ min_cost: minCost.value }));

  root.append(
    h("div", { class: "view-head" }, h("h1", {}, "Sessions")),
    h("div", { class: "filters" },
      h("label", {}, "Search", q), h("label", {}, "Service", service), h("label", {}, "User", user),
      h("label", {}, "Environment", environment), h("label", {}, "Tag", tag),
      h("label", {}, "Range", since), h("label", {}, "Min cost ($)", minCost),
      h("label", { class: "check" }, errors, "with errors only")),
  );

  const page = await get("/session-search", {
    q: p.q, service: p.service, user: p.user, environment: p.environment, tag: p.tag, since: p.since, errors: p.errors === "true" ? "true" : "",
    min_cost: p.min_cost, sort: p.sort, order: p.order, offset: p.offset, limit: PAGE,
  });
  if (stale()) return;
  if (!page.sessions.length) {
    root.append(h("div", { class: "panel" }, empty("No sessions match. Widen the range or clear the filters.")));
    return;
  }
  const head = h("tr", {}, COLUMNS.map(([, label, key]) => {
    const isNum = ["duration", "traces", "spans", "errors", "tokens", "cost"].includes(key);
    if (!key) return h("th", {}, label);
    const on = p.sort === key;
    return h("th", {
      class: "sortable" + (isNum ? " num" : ""), "aria-sort": on ? (p.order === "asc" ? "ascending" : "descending") : "none",
      tabindex: "0", role: "columnheader",
      onclick: () => set({ sort: key, order: on && p.order === "desc" ? "asc" : "desc" }),
    }, label);
  }));
  const rows = page.sessions.map((s) => h("tr", {},
    h("td", { class: "trunc mono" }, h("a", { href: link(`sessions/${encodeURIComponent(s.session_id)}`) }, s.session_id)),
    h("td", {}, s.service), h("td", {}, s.user_id || h("span", { class: "muted" }, "–")),
    h("td", { title: new Date(s.last_seen_ns / 1e6).toISOString() }, fmtAgo(s.last_seen_ns)),
    h("td", { class: "num" }, fmtMs(s.duration_ms)), h("td", { class: "num" }, fmtInt(s.traces)),
    h("td", { class: "num" }, fmtInt(s.spans)),
    h("td", { class: "num" + (s.errors ? " status-error" : "") }, fmtInt(s.errors)),
    h("td", { class: "num" }, fmtCompact(s.tokens.total_tokens)), h("td", { class: "num" }, fmtCost(s.cost_usd))));
  const off = Number(page.offset);
  root.append(
    h("div", { class: "panel table-wrap" }, h("table", { "aria-label": "Sessions" }, h("thead", {}, head), h("tbody", {}, rows))),
    h("div", { class: "pager" },
      h("span", {}, `${off + 1}–${off + page.sessions.length} of ${fmtInt(page.total)}`),
      h("button", { disabled: off === 0, onclick: () => go("sessions", { ...p, offset: Math.max(0, off - PAGE) }) }, "‹ Previous"),
      h("button", { disabled: off + PAGE >= page.total, onclick: () => go("sessions", { ...p, offset: off + PAGE }) }, "Next ›")),
  );
  // keep focus in the search box while typing re-renders the list
  if (params.q !== undefined && document.activeElement === document.body) { q.focus(); q.setSelectionRange(q.value.length, q.value.length); }
}
