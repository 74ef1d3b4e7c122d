// Time-series panels drawn with uPlot (vendored in static/vendor/): canvas, ~50 KB,
// fast with thousands of points, no dependencies. Bars and lists are plain HTML.
import { h } from "./util.js";

const AXIS = { stroke: "#8b93a3", grid: { stroke: "#262b33", width: 1 }, ticks: { stroke: "#2a2f38", width: 1 },
  font: "11px DejaVu Sans, sans-serif" };

export function timeChart(parent, { title, t, series, fmt = (v) => String(v), bars = false }) {
  const box = h("div", { class: "panel", "data-chart": title }, h("h2", {}, title));
  const el = h("div", { class: "chart" });
  box.append(el);
  parent.append(box);
  const opts = {
    width: Math.max(200, el.clientWidth || 400),
    height: 165,
    legend: { show: false },
    cursor: { points: { size: 6 } },
    scales: { x: { time: true }, y: { range: (u, lo, hi) => [0, hi > 0 ? hi * 1.1 : 1] } },
    axes: [
      { ...AXIS },
      { ...AXIS, size: 60, values: (u, vals) => vals.map(fmt) },
    ],
    series: [
      {},
      ...series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: 1.5,
        fill: s.color + (bars ? "aa" : "33"),
        spanGaps: false,
        points: { show: false },
        value: (u, v) => (v === null || v === undefined ? "–" : fmt(v)),
        ...(bars ? { paths: uPlot.paths.bars({ size: [0.8, 40] }) } : {}),
      })),
    ],
  };
  const plot = new uPlot(opts, [t, ...series.map((s) => s.values)], el);
  const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height: 165 }));
  ro.observe(el);
  return {
    update(t2, values) { plot.setData([t2, ...values]); },
    destroy() { ro.disconnect(); plot.destroy(); },
  };
}
