// The agent graph of a trace: who called which agent, tool or model, with the number of
// calls and their cost on each edge. A caller is the nearest enclosing agent-like span
// (agent, task, chain, handoff) or the trace's root; a callee is named by what it is:
// the model for an LLM call, the tool's name for a tool, "kind: name" otherwise.
import { fmtCost, fmtInt, h, kindColor, svg } from "./util.js";

const AGENTISH = new Set(["agent", "task", "chain", "handoff"]);

function nodeOf(s) {
  if (s.kind === "llm" || s.kind === "embedding" || s.kind === "rerank") return { id: `model:${s.model || s.name}`, label: s.model || s.name, kind: s.kind };
  if (s.kind === "tool") return { id: `tool:${s.name}`, label: s.name, kind: "tool" };
  if (AGENTISH.has(s.kind)) return { id: `agent:${s.name}`, label: s.name, kind: s.kind };
  return { id: `${s.kind}:${s.name}`, label: `${s.kind}: ${s.name}`, kind: s.kind };
}

export function agentGraph(trace) {
  const byId = new Map(trace.spans.map((s) => [s.span_id, s]));
  const nodes = new Map();
  const edges = new Map();
  const callerOf = new Map();  // span id -> node id of the agent it runs in
  const order = [];
  const stack = [...trace.root_ids].reverse();
  while (stack.length) {
    const id = stack.pop();
    order.push(id);
    for (const k of [...(trace.children[id] || [])].reverse()) stack.push(k);
  }
  for (const id of order) {
    const s = byId.get(id);
    if (!s) continue;
    const n = nodeOf(s);
    if (!nodes.has(n.id)) nodes.set(n.id, { ...n, calls: 0, cost: 0, errors: 0 });
    const node = nodes.get(n.id);
    node.calls += 1;
    node.cost += s.cost_usd || 0;
    if (s.status === "error") node.errors += 1;
    const parentCaller = s.parent_id && callerOf.get(s.parent_id);
    if (parentCaller && parentCaller !== n.id) {
      const key = `${parentCaller}→${n.id}`;
      const e = edges.get(key) || { from: parentCaller, to: n.id, calls: 0, cost: 0, errors: 0 };
      e.calls += 1;
      e.cost += s.cost_usd || 0;
      if (s.status === "error") e.errors += 1;
      edges.set(key, e);
    }
    callerOf.set(id, AGENTISH.has(s.kind) || !parentCaller ? n.id : parentCaller);
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}

export function renderGraph(parent, trace) {
  const g = agentGraph(trace);
  // Layers: longest path from a source, left to right.
  const depth = new Map(g.nodes.map((n) => [n.id, 0]));
  for (let pass = 0; pass < g.nodes.length; pass++) {
    let moved = false;
    for (const e of g.edges) {
      const d = depth.get(e.from) + 1;
      if (d > depth.get(e.to) && d < g.nodes.length) { depth.set(e.to, d); moved = true; }
    }
    if (!moved) break;
  }
  const cols = [];
  for (const n of g.nodes) (cols[depth.get(n.id)] ||= []).push(n);
  const W = 210, H = 44, GX = 150, GY = 22;
  const pos = new Map();
  cols.forEach((col, c) => col.forEach((n, r) => pos.set(n.id, { x: 20 + c * (W + GX), y: 20 + r * (H + GY) })));
  const width = 40 + cols.length * (W + GX) - GX;
  const height = 40 + Math.max(...cols.map((c) => c.length)) * (H + GY) - GY;
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Agent graph" });
  root.append(svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
    svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#4a5363" }))));
  for (const e of g.edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x - 2, y2 = b.y + H / 2;
    const mx = (x1 + x2) / 2;
    root.append(svg("path", { class: "edge", d: `M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2} ${y2}`, "marker-end": "url(#arrow)",
      style: e.errors ? "stroke: #8a3a3e" : null }));
    root.append(svg("text", { class: "edge-label", x: x2 - 10, y: y2 - 6, "text-anchor": "end" },
      `×${fmtInt(e.calls)}${e.cost ? " · " + fmtCost(e.cost) : ""}`));
  }
  for (const n of g.nodes) {
    const p = pos.get(n.id);
    const label = n.label.length > 28 ? n.label.slice(0, 27) + "…" : n.label;
    root.append(svg("g", { class: "node", transform: `translate(${p.x},${p.y})` },
      svg("rect", { width: W, height: H, stroke: kindColor(n.kind) }),
      svg("rect", { width: 4, height: H, fill: kindColor(n.kind), stroke: "none" }),
      svg("text", { x: 12, y: 18 }, label),
      svg("text", { class: "sub", x: 12, y: 34 }, `${n.kind} · ${fmtInt(n.calls)} call${n.calls === 1 ? "" : "s"}${n.cost ? " · " + fmtCost(n.cost) : ""}${n.errors ? " · " + n.errors + " err" : ""}`)));
  }
  parent.append(h("div", { class: "graph-wrap" }, root));
  const label = (id) => g.nodes.find((n) => n.id === id).label;
  parent.append(h("div", { class: "panel mt table-wrap" }, h("h2", {}, "Calls"),
    h("table", { "aria-label": "Agent graph edges" },
      h("thead", {}, h("tr", {}, h("th", {}, "Caller"), h("th", {}, "Callee"), h("th", { class: "num" }, "Calls"), h("th", { class: "num" }, "Errors"), h("th", { class: "num" }, "Cost"))),
      h("tbody", {}, g.edges.sort((a, b) => b.calls - a.calls).map((e) => h("tr", {},
        h("td", {}, label(e.from)), h("td", {}, label(e.to)), h("td", { class: "num" }, fmtInt(e.calls)),
        h("td", { class: "num" + (e.errors ? " status-error" : "") }, fmtInt(e.errors)), h("td", { class: "num" }, fmtCost(e.cost))))))));
  return g;
}
