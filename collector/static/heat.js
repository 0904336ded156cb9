// Live heat map: polls /api/v1/sensors and redraws the SVG map and the area trend.
(function () {
  "use strict";
  const M = window.MACHIMORI, T = M.texts;
  const svgNS = "http://www.w3.org/2000/svg";
  const map = document.getElementById("map"), trend = document.getElementById("trend");
  let basemap = null, bounds = null, selected = null, last = [], layer = "wbgt", plottedKey = "";
  const RAMP = ["#313695", "#4575b4", "#74add1", "#fee090", "#f46d43", "#a50026"];
  const FIELD = { air: "air_c", surface: "surface_c" };

  function ramp(v, lo, hi) {
    const x = Math.max(0, Math.min(0.999, (v - lo) / Math.max(hi - lo, 0.1)));
    return RAMP[Math.floor(x * RAMP.length)];
  }
  function range(sensors, f) {
    const vs = sensors.map(s => s[f]).filter(v => v != null);
    return vs.length ? [Math.floor(Math.min(...vs)), Math.ceil(Math.max(...vs))] : [0, 1];
  }
  function colour(s, lims) {
    if (layer === "wbgt") return s.wbgt_level ? M.colours[s.wbgt_level.code] : "#bbb";
    if (layer === "sun") {
      const st = s.state && s.state.sun;
      return st === "sun" ? "#f4b400" : st === "shade" ? "#5c6bc0" : "#bbb";
    }
    const v = s[FIELD[layer]];
    return v == null ? "#bbb" : ramp(v, lims[0], lims[1]);
  }
  function label(s) {
    if (layer === "wbgt") return fmt(s.wbgt_c, 1);
    if (layer === "sun") return s.state ? T[s.state.sun] : "";
    return fmt(s[FIELD[layer]], 1);
  }
  function showLegend(lims) {
    document.getElementById("legend-wbgt").hidden = layer !== "wbgt";
    document.getElementById("legend-sun").hidden = layer !== "sun";
    const r = document.getElementById("legend-ramp");
    r.hidden = !(layer in FIELD);
    if (!r.hidden) {
      document.getElementById("ramp-title").textContent = T["layer_" + layer] + " (°C)";
      document.getElementById("ramp-lo").textContent = lims[0] + "°";
      document.getElementById("ramp-hi").textContent = lims[1] + "°";
    }
  }
  document.querySelectorAll(".layers button").forEach(b => b.addEventListener("click", () => {
    layer = b.dataset.layer;
    document.querySelectorAll(".layers button").forEach(x => x.classList.toggle("on", x === b));
    drawMap(last);
  }));

  function el(name, attrs, parent) {
    const e = document.createElementNS(svgNS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function computeBounds(sensors) {
    const pts = sensors.filter(s => s.lat != null).map(s => [s.lon, s.lat]);
    if (basemap) basemap.features.forEach(f => f.geometry.coordinates.forEach(c => pts.push(c)));
    if (!pts.length) return null;
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    pts.forEach(([x, y]) => { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); });
    const k = Math.cos((y0 + y1) / 2 * Math.PI / 180);  // keep metres square on screen
    const w = Math.max((x1 - x0) * k, 1e-6), h = Math.max(y1 - y0, 1e-6);
    const s = Math.min(720 / w, 520 / h);  // margins keep edge labels inside
    return { x0, y1, k, s, ox: (800 - w * s) / 2, oy: (600 - h * s) / 2 };
  }
  function project(lon, lat) {
    const b = bounds;
    return [b.ox + (lon - b.x0) * b.k * b.s, b.oy + (b.y1 - lat) * b.s];
  }
  function fmt(v, d) { return v == null ? "—" : v.toFixed(d); }
  function showDetail(s) {
    const lv = s.wbgt_level ? s.wbgt_level[M.lang] : "—";
    document.getElementById("detail").innerHTML =
      `<b>${s.name || s.id}</b> <small>${s.id}</small><table>` +
      `<tr><td>${T.wbgt}</td><td><b>${fmt(s.wbgt_c, 1)} °C</b> (${lv})</td></tr>` +
      `<tr><td>${T.air}</td><td>${fmt(s.air_c, 1)} °C</td></tr>` +
      `<tr><td>${T.humidity}</td><td>${fmt(s.humidity, 0)} %</td></tr>` +
      `<tr><td>${T.surface}</td><td>${fmt(s.surface_c, 1)} °C</td></tr>` +
      (s.state ? `<tr><td>${T.layer_sun}</td><td>${T[s.state.sun]}${s.state.hot_spot ? " · " + T.hot_spot : ""}</td></tr>` +
        (s.state.faults.length ? `<tr><td>${T.faults}</td><td>${s.state.faults.join(", ")}</td></tr>` : "") : "") +
      `</table>`;
  }
  function drawMap(sensors) {
    bounds = computeBounds(sensors);
    map.textContent = "";
    if (!bounds) return;
    if (basemap) basemap.features.forEach(f => {
      const c = f.geometry.coordinates.map(([x, y]) => project(x, y));
      el("polyline", { points: c.map(p => p.join(",")).join(" "), class: "street" }, map);
    });
    const lims = layer in FIELD ? range(sensors, FIELD[layer]) : null;
    showLegend(lims);
    sensors.forEach(s => {
      if (s.lat == null) return;
      const [x, y] = project(s.lon, s.lat);
      const code = s.wbgt_level ? s.wbgt_level.code : null;
      const hot = s.state && s.state.hot_spot ? " hot" : "";
      const c = el("circle", { cx: x, cy: y, r: 13, fill: colour(s, lims),
        class: "sensor" + hot + (selected === s.id ? " sel" : ""), "data-id": s.id,
        "data-level": code == null ? "" : code }, map);
      el("title", {}, c).textContent = `${s.name || s.id}: ${fmt(s.wbgt_c, 1)} °C`;
      c.addEventListener("click", () => { selected = s.id; showDetail(s); drawMap(last); });
      const t = el("text", { x: x, y: y - 17, class: "val" }, map);
      t.textContent = label(s);
    });
    (M.overlays || []).forEach(f => f(map, project, el));  // e.g. actuators.js
  }
  function drawTrend(points) {
    trend.textContent = "";
    if (!points.length) return;
    const L = 50, R = 780, TOP = 10, B = 190;
    const ts = points.map(p => p.t), vs = points.flatMap(p => [p.mean, p.max]);
    const t0 = Math.min(...ts), t1 = Math.max(...ts, t0 + 1);
    const v0 = Math.floor(Math.min(...vs, 21) - 1), v1 = Math.ceil(Math.max(...vs, 31) + 1);
    const X = t => L + (t - t0) / (t1 - t0) * (R - L), Y = v => B - (v - v0) / (v1 - v0) * (B - TOP);
    [21, 25, 28, 31].forEach((b, i) => {
      el("rect", { x: L, y: Y(Math.min(b + (i < 3 ? [4, 3, 3][i] : 99), v1)), width: R - L,
        height: Math.max(0, Y(b) - Y(Math.min(b + (i < 3 ? [4, 3, 3][i] : 99), v1))),
        fill: M.colours[i + 1], opacity: 0.18 }, trend);
    });
    for (let v = v0; v <= v1; v += 2) {
      el("line", { x1: L, x2: R, y1: Y(v), y2: Y(v), class: "grid-line" }, trend);
      el("text", { x: L - 6, y: Y(v) + 4, class: "tick", "text-anchor": "end" }, trend).textContent = v + "°";
    }
    const hh = t => new Date(t * 1000).toLocaleTimeString(M.lang === "ja" ? "ja-JP" : "en-GB",
      { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Tokyo" });
    for (let i = 0; i <= 4; i++) {
      const t = t0 + (t1 - t0) * i / 4;
      el("text", { x: X(t), y: B + 18, class: "tick", "text-anchor": "middle" }, trend).textContent = hh(t);
    }
    el("line", { x1: L, x2: R, y1: B, y2: B, class: "axis" }, trend);
    el("polyline", { points: points.map(p => X(p.t) + "," + Y(p.max)).join(" "), class: "line-max" }, trend);
    el("polyline", { points: points.map(p => X(p.t) + "," + Y(p.mean)).join(" "), class: "line-mean" }, trend);
    el("text", { x: R - 120, y: 24, class: "tick" }, trend).textContent = "— " + T.mean + "   - - " + T.max;
  }
  function drawPeople(points) {
    const svg = document.getElementById("people");
    svg.textContent = "";
    if (!points.length) return;
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
      const v = pmax * k / 4;
      el("text", { x: L - 6, y: B - k / 4 * (B - TOP) + 4, class: "tick", "text-anchor": "end" }, svg).textContent = Math.round(v);
      const w = w0 + (w1 - w0) * k / 4;
      el("text", { x: R + 6, y: YW(w) + 4, class: "tick" }, svg).textContent = w.toFixed(0) + "°";
    }
    el("line", { x1: L, x2: R, y1: B, y2: B, class: "axis" }, svg);
    el("text", { x: L, y: 24, class: "tick" }, svg).textContent = "▮ " + T.people + "   - - " + T.wbgt + " (°C)";
  }
  async function refresh() {
    try {
      if (basemap === null) basemap = await (await fetch("/api/v1/basemap")).json();
      const data = await (await fetch("/api/v1/sensors")).json();
      last = data.sensors;
      drawMap(last);
      const newest = Math.max(0, ...last.map(s => s.updated || 0));
      document.getElementById("count").textContent = last.length;
      document.getElementById("updated").textContent = newest ?
        new Date(newest * 1000).toLocaleString(M.lang === "ja" ? "ja-JP" : "en-GB", { timeZone: "Asia/Tokyo" }) : "—";
      if (selected) { const s = last.find(x => x.id === selected); if (s) showDetail(s); }
      // The 6-hour plots change only when a window arrives (or fills up): ask only then.
      const windowKey = newest + ":" + last.filter(s => s.updated === newest).length;
      if (windowKey !== plottedKey) {
        const tr = await (await fetch("/api/v1/heat/trend")).json();
        drawTrend(tr.points);
        drawPeople((await (await fetch("/api/v1/people/trend")).json()).points);
        plottedKey = windowKey;
      }
      document.getElementById("live-dot").classList.remove("off");
      document.getElementById("live-text").textContent = T.live;
    } catch (e) {
      document.getElementById("live-dot").classList.add("off");
      document.getElementById("live-text").textContent = T.conn_lost;
    }
  }
  refresh();
  setInterval(refresh, M.refreshMs);
})();
