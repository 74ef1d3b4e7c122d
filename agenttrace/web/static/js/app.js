// Entry point: picks the view for the URL's hash and renders it into <main>.
// A view is a module exporting render(root, args, params) that may return a cleanup
// function (timers, streams) called before the next view renders.
import { parseHash } from "./router.js";
import { h } from "./util.js";
import * as overview from "./views/overview.js";
import * as sessions from "./views/sessions.js";
import * as session from "./views/session.js";
import * as trace from "./views/trace.js";
import * as costs from "./views/costs.js";
import * as live from "./views/live.js";
import * as search from "./views/search.js";

const VIEWS = { overview, sessions, traces: trace, costs, live, search };
const TITLES = { overview: "Overview", sessions: "Sessions", traces: "Trace", costs: "Costs", live: "Live", search: "Search" };
let cleanup = null;
let generation = 0;

async function route() {
  const { parts, params } = parseHash();
  let name = parts[0] || "overview";
  if (!VIEWS[name]) name = "overview";
  const view = name === "sessions" && parts[1] ? session : VIEWS[name];
  for (const a of document.querySelectorAll(".topbar nav a")) {
    a.classList.toggle("active", a.dataset.view === name || (name === "traces" && a.dataset.view === "sessions"));
    if (a.classList.contains("active")) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  if (cleanup) { try { cleanup(); } catch (e) { console.warn(e); } cleanup = null; }
  const mine = ++generation;
  const root = document.getElementById("view");
  root.replaceChildren();
  document.title = `${TITLES[name]} · AgentTrace`;
  try {
    const c = await view.render(root, parts.slice(1), params, () => mine !== generation);
    if (mine === generation) cleanup = typeof c === "function" ? c : null; else if (typeof c === "function") c();
  } catch (err) {
    if (mine !== generation || err.name === "AbortError") return;
    root.replaceChildren(h("div", { class: "banner", role: "alert" }, `Could not load this view: ${err.message}`));
  }
}

window.addEventListener("hashchange", route);
route();
