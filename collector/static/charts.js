// Small SVG charts for the heat pages (no chart library): the area trend, people flow and one
// sensor's series. Every text goes in with textContent; nothing is parsed as HTML.
window.MachimoriCharts = (function () {
  "use strict";
  const svgNS = "http://www.w3.org/2000/svg";

  function el(name, attrs, parent) {
    const e = document.createElementNS(svgNS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function clock(t, lang) {
    return new Date(t * 1000).toLocaleTimeString(lang === "ja" ? "ja-JP" : "en-GB",
      { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Tokyo" });
  }
  // Level bands behind a WBGT axis: each level's colour between its bounds.
  function bands(svg, voc, Y, L, R, v0, v1) {
    voc.levels.forEach(lv => {
      const lo = Math.max(lv.lower == null ? v0 : lv.lower, v0);
      const hi = Math.min(lv.upper == null ? v1 : lv.upper, v1);
      if (hi <= lo) return;
      el("rect", { x: L, y: Y(hi), width: R - L, height: Y(lo) - Y(hi), fill: lv.colour,
        opacity: 0.18, class: "band" }, svg);
    });
  }
  function timeAxis(svg, t0, t1, X, B, lang) {
    for (let i = 0; i <= 4; i++) {
      const t = t0 + (t1 - t0) * i / 4;
      el("text", { x: X(t), y: B + 16, class: "tick", "text-anchor": "middle" }, svg).textContent =
        clock(t, lang);
    }
  }
  function path(points, X, Y, key) {
    // Gaps (null values) break the line rather than joining across them.
    let d = "", pen = false;
    points.forEach(p => {
      if (p[key] == null) { pen = false; return; }
      d += (pen ? "L" : "M") + X(p.t).toFixed(1) + "," + Y(p[key]).toFixed(1);
      pen = true;
    });
    return d;
  }

  // One sensor over time: WBGT on level bands, with air and surface temperature.
  function sensor(svg, points, voc, lang) {
    svg.textContent = "";
    if (!points.length) return;
    const W = 300, L = 34, R = W - 8, TOP = 8, B = 146;
    const vs = points.flatMap(p => [p.wbgt_c, p.air_c, p.surface_c]).filter(v => v != null);
    const t0 = points[0].t, t1 = Math.max(points[points.length - 1].t, t0 + 1);
    const v0 = Math.floor(Math.min(...vs, 20) - 1), v1 = Math.ceil(Math.max(...vs, 32) + 1);
    const X = t => L + (t - t0) / (t1 - t0) * (R - L), Y = v => B - (v - v0) / (v1 - v0) * (B - TOP);
    bands(svg, voc, Y, L, R, v0, v1);
    const step = v1 - v0 > 24 ? 10 : 5;
    for (let v = Math.ceil(v0 / step) * step; v <= v1; v += step) {
      el("line", { x1: L, x2: R, y1: Y(v), y2: Y(v), class: "grid-line" }, svg);
      el("text", { x: L - 4, y: Y(v) + 4, class: "tick", "text-anchor": "end" }, svg).textContent = v + "°";
    }
    el("line", { x1: L, x2: R, y1: B, y2: B, class: "axis" }, svg);
    timeAxis(svg, t0, t1, X, B, lang);
    el("path", { d: path(points, X, Y, "surface_c"), class: "line-surface" }, svg);
    el("path", { d: path(points, X, Y, "air_c"), class: "line-air" }, svg);
    el("path", { d: path(points, X, Y, "wbgt_c"), class: "line-wbgt" }, svg);
  }

  // The area's mean and max WBGT per window.
  function trend(svg, points, voc, T, lang) {
    svg.textContent = "";
    if (!points.length) { empty(svg, T); return; }
    const L = 50, R = 780, TOP = 10, B = 190;
    const ts = points.map(p => p.t), vs = points.flatMap(p => [p.mean, p.max]);
    const t0 = Math.min(...ts), t1 = Math.max(...ts, t0 + 1);
    const v0 = Math.floor(Math.min(...vs, 21) - 1), v1 = Math.ceil(Math.max(...vs, 31) + 1);
    const X = t => L + (t - t0) / (t1 - t0) * (R - L), Y = v => B - (v - v0) / (v1 - v0) * (B - TOP);
    bands(svg, voc, Y, L, R, v0, v1);
    for (let v = v0; v <= v1; v += 2) {
      el("line", { x1: L, x2: R, y1: Y(v), y2: Y(v), class: "grid-line" }, svg);
      el("text", { x: L - 6, y: Y(v) + 4, class: "tick", "text-anchor": "end" }, svg).textContent = v + "°";
    }
    timeAxis(svg, t0, t1, X, B + 2, lang);
    el("line", { x1: L, x2: R, y1: B, y2: B, class: "axis" }, svg);
    el("polyline", { points: points.map(p => X(p.t) + "," + Y(p.max)).join(" "), class: "line-max" }, svg);
    el("polyline", { points: points.map(p => X(p.t) + "," + Y(p.mean)).join(" "), class: "line-mean" }, svg);
    el("text", { x: R - 120, y: 24, class: "tick" }, svg).textContent = "— " + T.mean + "   - - " + T.max;
  }

  // Devices counted near the gateways per window, with the area's mean WBGT.
  function empty(svg, T) {
    el("text", { x: 20, y: 40, class: "tick empty" }, svg).textContent = T.no_data;
  }

  function people(svg, points, T) {
    svg.textContent = "";
    if (!points.length) { empty(svg, T); return; }
    const L = 50, R = 750, TOP = 10, B = 190;
    const t0 = Math.min(...points.map(p => p.t)), t1 = Math.max(...points.map(p => p.t), t0 + 1);
    const pmax = Math.max(5, ...points.map(p => p.people)) * 1.1;
    const ws = points.filter(p => p.wbgt != null).map(p => p.wbgt);
    const w0 = Math.floor(Math.min(...ws, 25) - 1), w1 = Math.ceil(Math.max(...ws, 31) + 1);
    const X = t => L + (t - t0) / (t1 - t0) * (R - L);
    const bw = Math.max(1, (R - L) / points.length - 1);
    points.forEach(p => el("rect", { x: X(p.t) - bw / 2, y: B - p.people / pmax * (B - TOP),
      width: bw, height: p.people / pmax * (B - TOP), class: "bar-people" }, svg));
    const YW = v => B - (v - w0) / (w1 - w0) * (B - TOP);
    el("polyline", { points: points.filter(p => p.wbgt != null).map(p => X(p.t) + "," + YW(p.wbgt)).join(" "),
      class: "line-max" }, svg);
    for (let k = 0; k <= 4; k++) {
      el("text", { x: L - 6, y: B - k / 4 * (B - TOP) + 4, class: "tick", "text-anchor": "end" }, svg)
        .textContent = Math.round(pmax * k / 4);
      el("text", { x: R + 6, y: YW(w0 + (w1 - w0) * k / 4) + 4, class: "tick" }, svg)
        .textContent = (w0 + (w1 - w0) * k / 4).toFixed(0) + "°";
    }
    el("line", { x1: L, x2: R, y1: B, y2: B, class: "axis" }, svg);
    el("text", { x: L, y: 24, class: "tick" }, svg).textContent = "▮ " + T.people + "   - - " + T.wbgt + " (°C)";
  }

  return { el, clock, sensor, trend, people };
})();
