// A small SVG charting kit for the Stratus page: axes, scatter, lines, heat map, bars.
// No dependencies; every chart is drawn from the API's JSON, with hover tooltips.
"use strict";
const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const PALETTE = ["#1f6feb", "#d9480f", "#2f9e44", "#ae3ec9", "#f08c00", "#0c8599", "#c2255c", "#5c7cfa", "#74b816", "#495057"];
  const W = 560, H = 340, M = { l: 58, r: 16, t: 14, b: 40 };

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }
  function text(parent, x, y, content, attrs) {
    const t = el("text", Object.assign({ x, y }, attrs || {}), parent);
    t.textContent = content;
    return t;
  }
  function tip(node, content) {
    const box = document.getElementById("tip");
    node.addEventListener("mousemove", (e) => {
      box.textContent = content;
      box.style.display = "block";
      box.style.left = e.clientX + 12 + "px";
      box.style.top = e.clientY + 12 + "px";
    });
    node.addEventListener("mouseleave", () => { box.style.display = "none"; });
  }
  function ticks(lo, hi, count) {
    const span = hi - lo || Math.abs(hi) || 1;
    const step0 = span / count, mag = Math.pow(10, Math.floor(Math.log10(step0)));
    const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => span / s <= count) || mag * 10;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    return out;
  }
  function extent(values, pad) {
    let lo = Math.min(...values), hi = Math.max(...values);
    if (!isFinite(lo) || !isFinite(hi)) return [0, 1];
    if (lo === hi) { lo -= Math.abs(lo) * 0.1 || 1; hi += Math.abs(hi) * 0.1 || 1; }
    const p = (hi - lo) * (pad === undefined ? 0.08 : pad);
    return [lo - p, hi + p];
  }
  // A plot area with axes; returns scale functions and the SVG.
  function frame(target, xs, ys, opts) {
    target.innerHTML = "";
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img" }, target);
    const [x0, x1] = opts.xDomain || extent(xs);
    const [y0, y1] = opts.yDomain || extent(ys);
    const sx = (v) => M.l + ((v - x0) / (x1 - x0)) * (W - M.l - M.r);
    const sy = (v) => H - M.b - ((v - y0) / (y1 - y0)) * (H - M.t - M.b);
    const grid = el("g", { class: "grid" }, svg), axis = el("g", { class: "axis" }, svg);
    for (const v of ticks(y0, y1, 6)) {
      el("line", { x1: M.l, x2: W - M.r, y1: sy(v), y2: sy(v) }, grid);
      text(axis, M.l - 6, sy(v) + 4, opts.yFormat(v), { "text-anchor": "end" });
    }
    const xt = opts.xTicks ? opts.xTicks(x0, x1) : ticks(x0, x1, 6);
    for (const v of xt) {
      el("line", { x1: sx(v), x2: sx(v), y1: M.t, y2: H - M.b }, grid);
      text(axis, sx(v), H - M.b + 16, opts.xFormat(v), { "text-anchor": "middle" });
    }
    el("path", { d: `M${M.l},${M.t}V${H - M.b}H${W - M.r}`, fill: "none" }, axis);
    if (opts.xLabel) text(svg, (M.l + W - M.r) / 2, H - 6, opts.xLabel, { "text-anchor": "middle", fill: "#5b6474" });
    if (opts.yLabel) text(svg, 12, (M.t + H - M.b) / 2, opts.yLabel, { "text-anchor": "middle", transform: `rotate(-90 12 ${(M.t + H - M.b) / 2})`, fill: "#5b6474" });
    return { svg, sx, sy };
  }
  const pct = (v) => (v * 100).toFixed(Math.abs(v) < 0.1 ? 1 : 0) + "%";

  function legend(svg, series, onToggle) {
    const g = el("g", { class: "legend" }, svg);
    let x = M.l + 6;
    series.forEach((s, i) => {
      const item = el("g", { transform: `translate(${x},${M.t + 4})` }, g);
      el("rect", { width: 10, height: 10, fill: s.color || PALETTE[i % PALETTE.length], rx: 2 }, item);
      const t = text(item, 14, 9, s.name);
      item.addEventListener("click", () => { s.hidden = !s.hidden; item.setAttribute("opacity", s.hidden ? 0.35 : 1); onToggle(); });
      x += 24 + t.textContent.length * 6.5;
    });
  }

  // points: [{x, y, label, color?, r?, info?}]
  function scatter(target, points, opts) {
    const { svg, sx, sy } = frame(target, points.map((p) => p.x), points.map((p) => p.y), opts);
    points.forEach((p, i) => {
      const c = el("circle", { cx: sx(p.x), cy: sy(p.y), r: p.r || 5, fill: p.color || PALETTE[i % PALETTE.length], "fill-opacity": 0.85 }, svg);
      tip(c, p.info || `${p.label}: ${opts.xFormat(p.x)}, ${opts.yFormat(p.y)}`);
      if (p.label) text(svg, sx(p.x) + 7, sy(p.y) - 6, p.label);
    });
    return svg;
  }

  // series: [{name, points: [[x, y]], color?, dashed?, markers?}]
  function lines(target, series, opts) {
    const extra = opts.extraPoints || [];
    const xs = series.flatMap((s) => s.points.map((p) => p[0])).concat(extra.map((p) => p.x));
    const ys = series.flatMap((s) => s.points.map((p) => p[1])).concat(extra.map((p) => p.y));
    const { svg, sx, sy } = frame(target, xs, ys, opts);
    const layer = el("g", {}, svg);
    const draw = () => {
      layer.innerHTML = "";
      series.forEach((s, i) => {
        if (s.hidden || !s.points.length) return;
        const color = s.color || PALETTE[i % PALETTE.length];
        const d = s.points.map((p, j) => `${j ? "L" : "M"}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join("");
        el("path", { d, fill: "none", stroke: color, "stroke-width": 1.8, "stroke-dasharray": s.dashed ? "5 4" : "none" }, layer);
        if (s.markers) s.points.forEach((p) => {
          const c = el("circle", { cx: sx(p[0]), cy: sy(p[1]), r: 3.2, fill: color }, layer);
          tip(c, `${s.name}: ${opts.xFormat(p[0])}, ${opts.yFormat(p[1])}${p[2] ? " — " + p[2] : ""}`);
        });
      });
      for (const p of opts.extraPoints || []) {
        const c = el("circle", { cx: sx(p.x), cy: sy(p.y), r: 5, fill: p.color || "#495057" }, layer);
        tip(c, p.info || p.label);
        text(layer, sx(p.x) + 7, sy(p.y) - 6, p.label);
      }
    };
    draw();
    if (series.length > 1) legend(svg, series, draw);
    return svg;
  }

  // A labelled square matrix with a diverging colour scale on [-1, 1].
  function heatmap(target, labels, matrix) {
    target.innerHTML = "";
    const n = labels.length, cell = Math.min(64, Math.floor(300 / Math.max(n, 1)));
    const left = 64, top = 10, size = cell * n;
    const svg = el("svg", { viewBox: `0 0 ${left + size + 20} ${top + size + 40}`, role: "img" }, target);
    const colour = (v) => {
      const t = Math.max(-1, Math.min(1, v));
      const [r, g, b] = t >= 0 ? [255 - 200 * t, 255 - 140 * t, 255 - 20 * t] : [255, 255 + 170 * t, 255 + 200 * t];
      return `rgb(${r | 0},${g | 0},${b | 0})`;
    };
    matrix.forEach((row, i) => row.forEach((v, j) => {
      const r = el("rect", { x: left + j * cell, y: top + i * cell, width: cell - 1, height: cell - 1, fill: colour(v) }, svg);
      tip(r, `${labels[i]} / ${labels[j]}: ${v.toFixed(4)}`);
      if (cell >= 30) text(svg, left + j * cell + cell / 2, top + i * cell + cell / 2 + 4, v.toFixed(2), { "text-anchor": "middle", fill: Math.abs(v) > 0.6 ? "#fff" : "#1d2330" });
    }));
    labels.forEach((l, i) => {
      text(svg, left - 6, top + i * cell + cell / 2 + 4, l, { "text-anchor": "end" });
      text(svg, left + i * cell + cell / 2, top + size + 16, l, { "text-anchor": "middle" });
    });
    return svg;
  }

  // Horizontal bars: [{label, value}] with values in [0, 1].
  function bars(target, items) {
    target.innerHTML = "";
    const rowH = 24, left = 64, width = 420;
    const svg = el("svg", { viewBox: `0 0 ${left + width + 70} ${items.length * rowH + 8}`, role: "img" }, target);
    items.forEach((it, i) => {
      const y = 4 + i * rowH;
      text(svg, left - 6, y + 15, it.label, { "text-anchor": "end" });
      const r = el("rect", { x: left, y: y + 3, width: Math.max(0, it.value) * width, height: rowH - 8, fill: PALETTE[i % PALETTE.length], rx: 3 }, svg);
      tip(r, `${it.label}: ${(it.value * 100).toFixed(2)}%`);
      text(svg, left + Math.max(0, it.value) * width + 6, y + 15, (it.value * 100).toFixed(2) + "%");
    });
    return svg;
  }

  return { scatter, lines, heatmap, bars, pct, PALETTE };
})();
