// Small time-series line charts as inline SVG (no chart library). A gap in the data (a
// device that was off) breaks the line instead of drawing a straight bridge across it.

import { formatShortTime, h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const W = 640;
const H = 190;
const M = { left: 52, right: 14, top: 12, bottom: 28 };
export const SERIES_COLOURS = ["#1a56db", "#b45309", "#047857", "#7e22ce"];

function s(tag, attrs = {}, text = null) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  if (text !== null) el.textContent = text;
  return el;
}

/** A round upper bound for the y axis: 0.87 -> 1, 13 -> 15, 230 -> 250. */
export function niceMax(value) {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((m) => m * magnitude >= value);
  return step * magnitude;
}

function medianGap(times) {
  const gaps = times
    .slice(1)
    .map((t, i) => t - times[i])
    .sort((a, b) => a - b);
  return gaps.length ? gaps[Math.floor(gaps.length / 2)] : 0;
}

function pathFor(points, x, y, maxGap) {
  let d = "";
  let previous = null;
  for (const [t, v] of points) {
    const jump = previous === null || t - previous > maxGap;
    d += `${jump ? "M" : "L"}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
    previous = t;
  }
  return d;
}

function latestText(series, unit, digits) {
  return series
    .map((one) => {
      const last = one.points[one.points.length - 1];
      return last ? `${one.name} ${last[1].toFixed(digits)}${unit}` : `${one.name} –`;
    })
    .join(", ");
}

/**
 * A <figure>: title, the latest value of each series, the chart, a legend.
 * series: [{name, points: [[time ms, value], ...] oldest first}]; from/to: the time range.
 */
export function lineChart({ id, title, unit = "", digits = 1, series, from, to }) {
  const all = series.flatMap((one) => one.points);
  const latest = latestText(series, unit, digits);
  const figure = h(
    "figure",
    { class: "chart", "data-chart": id },
    h("figcaption", {}, h("strong", { text: title }), h("span", { class: "latest", text: latest })),
  );
  if (all.length === 0) {
    figure.append(h("p", { class: "empty", text: "No heartbeats in this period." }));
    return figure;
  }
  let top = niceMax(Math.max(...all.map((p) => p[1])));
  if (digits === 0 && top % 2) top += 1; // counts: whole numbers on the axis
  const x = (t) => M.left + ((t - from) / Math.max(1, to - from)) * (W - M.left - M.right);
  const y = (v) => H - M.bottom - (v / top) * (H - M.top - M.bottom);
  const svg = s("svg", {
    viewBox: `0 0 ${W} ${H}`,
    role: "img",
    "aria-label": `${title}: latest ${latest}`,
  });
  for (const tick of [0, top / 2, top]) {
    svg.append(s("line", { x1: M.left, x2: W - M.right, y1: y(tick), y2: y(tick), class: "grid" }));
    const label = Number.isInteger(tick) ? String(tick) : tick.toFixed(1);
    svg.append(s("text", { x: M.left - 6, y: y(tick) + 4, class: "axis end" }, label));
  }
  for (const [t, anchor] of [
    [from, "start"],
    [(from + to) / 2, "middle"],
    [to, "end"],
  ]) {
    svg.append(s("text", { x: x(t), y: H - 8, class: `axis ${anchor}` }, formatShortTime(t)));
  }
  series.forEach((one, i) => {
    const times = one.points.map((p) => p[0]);
    const maxGap = Math.max(3 * medianGap(times), 90_000);
    const colour = SERIES_COLOURS[i % SERIES_COLOURS.length];
    svg.append(s("path", { d: pathFor(one.points, x, y, maxGap), stroke: colour, class: "line" }));
    if (one.points.length < 40) {
      for (const [t, v] of one.points) {
        svg.append(s("circle", { cx: x(t), cy: y(v), r: 3, fill: colour }));
      }
    }
  });
  figure.append(svg);
  figure.append(
    h(
      "ul",
      { class: "legend" },
      series.map((one, i) =>
        h(
          "li",
          {},
          h("span", { class: "swatch", style: { background: SERIES_COLOURS[i] } }),
          `${one.name}${unit ? ` (${unit.trim()})` : ""}`,
        ),
      ),
    ),
  );
  return figure;
}

/**
 * A <figure> of grouped horizontal bars, one group per row (a room), one bar per series:
 * rows: [{label, values: [number, ...]}]; series: [name, ...] in the order of values.
 */
export function barChart({ id, title, series, rows }) {
  const width = 420; // narrower than a line chart: its labels stay legible on a phone
  const rowH = 16 + 14 * series.length + 8; // the room's name above its bars
  const height = M.top + rowH * Math.max(rows.length, 1);
  const left = 8;
  const max = niceMax(Math.max(0, ...rows.flatMap((r) => r.values)));
  const x = (v) => left + (v / max) * (width - left - M.right - 30);
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": `${title}: ${rows.map((r) => `${r.label} ${r.values.join("/")}`).join("; ")}`,
  });
  rows.forEach((row, i) => {
    const top = M.top + i * rowH;
    svg.append(s("text", { x: left, y: top + 10, class: "axis" }, row.label));
    row.values.forEach((value, k) => {
      const y = top + 16 + k * 14;
      const bar = { x: left, y, width: Math.max(x(value) - left, 1), height: 11 };
      svg.append(s("rect", { ...bar, fill: SERIES_COLOURS[k % SERIES_COLOURS.length] }));
      svg.append(s("text", { x: x(value) + 4, y: y + 10, class: "axis" }, String(value)));
    });
  });
  const legend = h(
    "ul",
    { class: "legend" },
    series.map((name, k) =>
      h("li", {}, h("span", { class: "swatch", style: { background: SERIES_COLOURS[k] } }), name),
    ),
  );
  const caption = h("figcaption", {}, h("strong", { text: title }));
  return h("figure", { class: "chart", id }, caption, svg, legend);
}
