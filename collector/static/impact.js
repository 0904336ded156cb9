// The daily people counts at treated and comparison sites, before and after the start.
// Data comes from /api/v1/impact with this page's own query; every text goes in by textContent.
"use strict";
(function () {
  const box = document.getElementById("impact-chart");
  if (!box) return;
  const SVG = "http://www.w3.org/2000/svg";
  const el = (name, attrs) => {
    const e = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    return e;
  };
  fetch(box.dataset.api + window.location.search, { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
    .then((res) => draw(res))
    .catch(() => { box.textContent = "—"; });

  function draw(res) {
    const pts = res.series || [];
    if (!pts.length) return;
    const W = 640, H = 240, L = 40, R = 10, T = 10, B = 28;
    const vals = pts.flatMap((p) => [p.treated, p.control]).filter((v) => v !== null);
    const max = Math.max(1, ...vals) * 1.1;
    const x = (i) => L + (i * (W - L - R)) / Math.max(1, pts.length - 1);
    const y = (v) => T + (H - T - B) * (1 - v / max);
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "impact-svg" });
    svg.appendChild(el("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" }));
    for (const frac of [0, 0.5, 1]) {
      const v = max * frac;
      const tx = el("text", { x: L - 4, y: y(v) + 4, "text-anchor": "end", class: "tick" });
      tx.textContent = v.toFixed(0);
      svg.appendChild(tx);
    }
    const startIdx = pts.findIndex((p) => p.day >= res.start_day);
    if (startIdx >= 0) {
      svg.appendChild(el("line", { x1: x(startIdx), y1: T, x2: x(startIdx), y2: H - B, class: "start" }));
      const tx = el("text", { x: x(startIdx) + 4, y: T + 12, class: "tick" });
      tx.textContent = res.start_day;
      svg.appendChild(tx);
    }
    for (const [key, cls] of [["control", "control"], ["treated", "treated"]]) {
      let d = "";
      pts.forEach((p, i) => {
        if (p[key] === null) return;
        d += (d ? " L" : "M") + x(i).toFixed(1) + " " + y(p[key]).toFixed(1);
      });
      svg.appendChild(el("path", { d: d, class: "series " + cls }));
    }
    const first = el("text", { x: L, y: H - 8, class: "tick" });
    first.textContent = pts[0].day;
    const last = el("text", { x: W - R, y: H - 8, "text-anchor": "end", class: "tick" });
    last.textContent = pts[pts.length - 1].day;
    svg.append(first, last);
    box.replaceChildren(svg);
  }
})();
