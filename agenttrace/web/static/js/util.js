// Small DOM and formatting helpers shared by the views. Text goes in through
// textContent only (h() never parses HTML), so span names and attributes cannot inject markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

export const KINDS = ["agent", "task", "chain", "llm", "embedding", "rerank", "retrieval", "tool", "reasoning", "memory",
  "file", "terminal", "http", "database", "cache", "guardrail", "handoff", "verification", "evaluator", "event", "custom"];

export function kindColor(kind) {
  return `var(--k-${KINDS.includes(kind) ? kind : "custom"})`;
}

export function kindBadge(kind) {
  return h("span", { class: "kind", style: { background: kindColor(kind) } }, kind);
}

const nf = new Intl.NumberFormat("en-US");
export function fmtInt(n) { return n === null || n === undefined ? "–" : nf.format(Math.round(n)); }

export function fmtCompact(n) {
  if (n === null || n === undefined) return "–";
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(1) + "G";
  if (a >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (a >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return nf.format(Math.round(n));
}

export function fmtCost(usd) {
  if (usd === null || usd === undefined) return "–";
  if (usd === 0) return "$0";
  const a = Math.abs(usd);
  if (a >= 100) return "$" + usd.toFixed(0);
  if (a >= 1) return "$" + usd.toFixed(2);
  if (a >= 0.01) return "$" + usd.toFixed(3);
  return "$" + usd.toPrecision(2);
}

export function fmtRate(n) {
  if (n === null || n === undefined) return "–";
  return n >= 100 ? fmtCompact(n) : n.toFixed(n >= 10 ? 1 : 2);
}

export function fmtPct(x) { return x === null || x === undefined ? "–" : (x * 100).toFixed(x >= 0.1 ? 1 : 2) + "%"; }

export function fmtMs(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1) return ms.toFixed(2) + " ms";
  if (ms < 1000) return ms.toFixed(ms < 10 ? 1 : 0) + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(2) + " s";
  return (ms / 60000).toFixed(1) + " min";
}

export function fmtTime(ns) {
  if (!ns) return "–";
  const d = new Date(ns / 1e6);
  const pad = (x, n = 2) => String(x).padStart(n, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtClock(ns) {
  const d = new Date(ns / 1e6);
  const pad = (x, n = 2) => String(x).padStart(n, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function fmtAgo(ns) {
  const s = (Date.now() - ns / 1e6) / 1000;
  if (s < 60) return Math.max(0, Math.round(s)) + "s ago";
  if (s < 3600) return Math.round(s / 60) + "m ago";
  if (s < 86400) return Math.round(s / 3600) + "h ago";
  return Math.round(s / 86400) + "d ago";
}

export function tile(label, value, opts = {}) {
  return h("div", { class: "tile" + (opts.err ? " err" : ""), "data-tile": label },
    h("div", { class: "label" }, label), h("div", { class: "value" }, value), opts.hint ? h("div", { class: "hint" }, opts.hint) : null);
}

export function empty(text) { return h("div", { class: "empty" }, text); }

export function barList(rows, { label = (r) => r.key, value = (r) => r.cost_usd, fmt = fmtCost, href = null } = {}) {
  if (!rows.length) return empty("Nothing in this range.");
  const max = Math.max(...rows.map(value), 1e-12);
  return h("div", { class: "bars" }, rows.map((r) =>
    h("div", { class: "bar-row" },
      h("div", { class: "name", title: label(r) }, href ? h("a", { href: href(r) }, label(r)) : label(r)),
      h("div", { class: "track" }, h("div", { class: "fill", style: { width: `${(100 * value(r)) / max}%` } })),
      h("div", { class: "val" }, fmt(value(r))))));
}

export function debounce(fn, ms) {
  let t;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}
