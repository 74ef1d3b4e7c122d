// A virtualised waterfall: only the rows in view (plus a margin) exist in the DOM, so
// a 10,000-span trace renders as fast as a 10-span one. Rows are the span tree in
// depth-first order; a caret folds a subtree.
import { fmtMs, h, kindColor } from "./util.js";

const ROW = 24;
const OVERSCAN = 12;

export function buildTree(trace) {
  const byId = new Map(trace.spans.map((s) => [s.span_id, s]));
  const children = trace.children || {};
  const roots = trace.root_ids.filter((id) => byId.has(id));
  return { byId, children, roots };
}

export class Waterfall {
  constructor(parent, trace, { onSelect, selected }) {
    this.trace = trace;
    this.tree = buildTree(trace);
    this.onSelect = onSelect;
    this.selected = selected && this.tree.byId.has(selected) ? selected : trace.root_ids[0];
    this.folded = new Set();
    this.t0 = trace.start_ns;
    this.total = Math.max(1, trace.end_ns - trace.start_ns);
    this.el = h("div", { class: "waterfall", role: "tree", "aria-label": "Waterfall", tabindex: "0" });
    this.head = h("div", { class: "wf-head" }, h("div", {}, `Span (${trace.span_count})`), this.axis());
    this.body = h("div", { class: "wf-body" });
    this.el.append(this.head, this.body);
    parent.append(this.el);
    this.flatten();
    this.el.addEventListener("scroll", () => this.paint(), { passive: true });
    this.el.addEventListener("keydown", (e) => this.key(e));
    this.ro = new ResizeObserver(() => this.paint());
    this.ro.observe(this.el);
    this.scrollTo(this.selected);
    this.paint();
  }

  axis() {
    const ax = h("div", { class: "wf-axis" });
    for (let i = 0; i <= 4; i++) {
      const style = { left: `${i * 25}%`, transform: i === 0 ? "none" : i === 4 ? "translateX(-100%)" : "translateX(-50%)" };
      ax.append(h("span", { style }, i === 0 ? "0" : fmtMs((this.total / 1e6) * (i / 4))));
    }
    return ax;
  }

  flatten() {
    // Iterative DFS: deep traces must not overflow the JS stack.
    const rows = [];
    const stack = [...this.tree.roots].reverse().map((id) => [id, 0]);
    while (stack.length) {
      const [id, depth] = stack.pop();
      rows.push([id, depth]);
      if (this.folded.has(id)) continue;
      const kids = this.tree.children[id];
      if (kids) for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], depth + 1]);
    }
    this.rows = rows;
    this.index = new Map(rows.map(([id], i) => [id, i]));
    this.body.style.height = `${rows.length * ROW}px`;
    this.rendered = null;
  }

  paint() {
    const top = Math.max(0, this.el.scrollTop - 22);
    const height = this.el.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const last = Math.min(this.rows.length, Math.ceil((top + height) / ROW) + OVERSCAN);
    const key = `${first}:${last}:${this.selected}`;
    if (this.rendered === key) return;
    this.rendered = key;
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) frag.append(this.row(i));
    this.body.replaceChildren(frag);
  }

  row(i) {
    const [id, depth] = this.rows[i];
    const s = this.tree.byId.get(id);
    const kids = this.tree.children[id];
    const left = (100 * (s.start_ns - this.t0)) / this.total;
    const width = (100 * Math.max(0, s.end_ns - s.start_ns)) / this.total;
    const caret = kids ? h("span", { class: "caret", "data-fold": id }, this.folded.has(id) ? "▸" : "▾") : h("span", { class: "caret" });
    const label = s.model && s.kind === "llm" ? `${s.name} · ${s.model}` : s.name;
    const el = h("div", {
      class: "wf-row", role: "treeitem", "aria-level": depth + 1, "aria-selected": id === this.selected ? "true" : "false",
      "data-span-id": id, style: { top: `${i * ROW}px` },
    },
      h("div", { class: "wf-name", style: { paddingLeft: `${6 + depth * 14}px` } },
        caret, h("span", { class: "dot", style: { background: kindColor(s.kind) } }),
        h("span", { class: "label" + (s.status === "error" ? " err" : ""), title: label }, label)),
      h("div", { class: "wf-lane" },
        h("div", { class: "wf-bar", style: { left: `${left}%`, width: `${width}%`, background: s.status === "error" ? "var(--err)" : kindColor(s.kind) } }),
        h("span", { class: "wf-dur", style: left + width > 80 ? { right: `${100 - left + 0.5}%` } : { left: `calc(${left + width}% + 4px)` } }, fmtMs(s.duration_ms))));
    el.addEventListener("click", (e) => {
      const fold = e.target.closest("[data-fold]");
      if (fold) { this.toggle(fold.dataset.fold); return; }
      this.select(id);
    });
    return el;
  }

  toggle(id) {
    if (this.folded.has(id)) this.folded.delete(id); else this.folded.add(id);
    this.flatten();
    this.paint();
  }

  select(id) {
    this.selected = id;
    this.rendered = null;
    this.paint();
    this.onSelect(this.tree.byId.get(id));
  }

  scrollTo(id) {
    const i = this.index.get(id);
    if (i === undefined) return;
    const y = i * ROW;
    if (y < this.el.scrollTop || y > this.el.scrollTop + this.el.clientHeight - 2 * ROW) this.el.scrollTop = Math.max(0, y - 3 * ROW);
  }

  key(e) {
    const i = this.index.get(this.selected) ?? 0;
    let j = null;
    if (e.key === "ArrowDown") j = Math.min(this.rows.length - 1, i + 1);
    else if (e.key === "ArrowUp") j = Math.max(0, i - 1);
    else if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      const open = !this.folded.has(this.selected);
      if (this.tree.children[this.selected] && open === (e.key === "ArrowLeft")) this.toggle(this.selected);
      return;
    }
    if (j === null) return;
    e.preventDefault();
    const id = this.rows[j][0];
    this.select(id);
    this.scrollTo(id);
  }

  destroy() { this.ro.disconnect(); }
}
