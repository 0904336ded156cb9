// The planners' heat map: Leaflet over 地理院タイル (or the town's streets when tiles cannot
// load), sensors coloured by the contract's WBGT levels, an interpolated heat surface, a time
// slider over history and a chart per sensor. Data is only ever put in with textContent.
(function () {
  "use strict";
  const C = window.MachimoriCharts, HM = window.MachimoriHeatMath;
  const conf = document.getElementById("heat-config").dataset;
  const T = JSON.parse(conf.texts), CFG = JSON.parse(conf.cfg), LANG = conf.lang;
  const RAMP = ["#313695", "#4575b4", "#74add1", "#fee090", "#f46d43", "#a50026"];
  const FIELD = { air: "air_c", surface: "surface_c" };
  const SUN = { sun: "#f4b400", shade: "#3f51b5" };
  let VOC = null, layer = "wbgt", selected = new URLSearchParams(location.search).get("sensor");
  let last = [], markers = new Map(), surface = null, fitted = false, plottedKey = "";
  let windows = [], viewing = null;  // viewing: null = live, else the slider's Unix time

  // ---- the map and its base (static/basemap.js)
  const base = window.MachimoriBase.create("map", CFG.tile_url, "offline-note");
  const map = base.map, streets = base.streets, loadStreets = base.loadStreets;
  window.machimoriMap = map;  // for overlays loaded after this script (actuators.js)

  // ---- colours
  function ramp(v, lo, hi) {
    const x = Math.max(0, Math.min(0.999, (v - lo) / Math.max(hi - lo, 0.1)));
    return RAMP[Math.floor(x * RAMP.length)];
  }
  function limits(sensors, f) {
    const vs = sensors.filter(s => !s.stale).map(s => s[f]).filter(v => v != null);
    return vs.length ? [Math.floor(Math.min(...vs)), Math.ceil(Math.max(...vs))] : [0, 1];
  }
  function shadeColour(fr) {  // modelled fraction of shade 0..1: sun yellow → shade blue
    return fr < 0.33 ? SUN.sun : fr < 0.67 ? "#9fa8da" : SUN.shade;
  }
  function colour(s, lims) {
    if (s.stale) return VOC.no_data_colour;
    if (layer === "wbgt") return s.wbgt_level ? VOC.levels[s.wbgt_level.code].colour : VOC.no_data_colour;
    if (layer === "sun") return SUN[s.state && s.state.sun] || VOC.no_data_colour;
    if (layer === "modelled_shade") return s.modelled_shade == null ? VOC.no_data_colour : shadeColour(s.modelled_shade);
    const v = s[FIELD[layer]];
    return v == null ? VOC.no_data_colour : ramp(v, lims[0], lims[1]);
  }
  function fmt(v, d) { return v == null ? "—" : v.toFixed(d); }
  function label(s) {
    if (s.stale) return s.age_s == null ? "—" : T.ago.replace("{minutes}", Math.round(s.age_s / 60));
    if (layer === "wbgt") return fmt(s.wbgt_c, 1);
    if (layer === "sun") return s.state ? T[s.state.sun] : "—";
    if (layer === "modelled_shade") return s.modelled_shade == null ? "—" : Math.round(s.modelled_shade * 100) + "%";
    return fmt(s[FIELD[layer]], 1);
  }
  function span(text, cls) {
    const e = document.createElement("span");
    e.className = cls;
    e.textContent = text;
    return e;
  }

  // ---- legend and layers
  function showLegend(lims) {
    document.getElementById("legend-wbgt").hidden = layer !== "wbgt";
    document.getElementById("legend-sun").hidden = layer !== "sun" && layer !== "modelled_shade";
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
    document.querySelectorAll(".layers button").forEach(x => {
      x.classList.toggle("on", x === b);
      x.setAttribute("aria-pressed", x === b ? "true" : "false");
    });
    draw(last);
  }));
  document.getElementById("surface-toggle").addEventListener("change", () => draw(last));

  // ---- the interpolated heat surface (IDW on a grid, drawn on a canvas as an image overlay)
  function drawSurface(sensors, lims) {
    if (surface) { map.removeLayer(surface); surface = null; }
    const field = layer === "wbgt" ? "wbgt_c" : FIELD[layer];
    if (!field || !document.getElementById("surface-toggle").checked) return;
    const pts = sensors.filter(s => !s.stale && s.lat != null && s[field] != null)
      .map(s => ({ lat: s.lat, lon: s.lon, v: s[field] }));
    if (pts.length < 2) return;
    let [s0, w0, n0, e0] = [90, 180, -90, -180];
    pts.forEach(p => { s0 = Math.min(s0, p.lat); n0 = Math.max(n0, p.lat); w0 = Math.min(w0, p.lon); e0 = Math.max(e0, p.lon); });
    const pad = 0.003;
    const box = [s0 - pad, w0 - pad, n0 + pad, e0 + pad];
    const nx = 96, ny = 96;
    const grid = HM.idwGrid(pts, box, nx, ny, 400);
    const cv = document.createElement("canvas");
    cv.width = nx; cv.height = ny;
    const ctx = cv.getContext("2d"), img = ctx.createImageData(nx, ny);
    for (let i = 0; i < grid.length; i++) {
      const v = grid[i];
      if (isNaN(v)) continue;
      const hex = layer === "wbgt" ? HM.levelOf(v, VOC).colour : ramp(v, lims[0], lims[1]);
      img.data[i * 4] = parseInt(hex.slice(1, 3), 16);
      img.data[i * 4 + 1] = parseInt(hex.slice(3, 5), 16);
      img.data[i * 4 + 2] = parseInt(hex.slice(5, 7), 16);
      img.data[i * 4 + 3] = 150;
    }
    ctx.putImageData(img, 0, 0);
    surface = L.imageOverlay(cv.toDataURL(), [[box[0], box[1]], [box[2], box[3]]],
      { opacity: 0.55, className: "heat-surface", interactive: false }).addTo(map);
    surface.bringToBack();
  }

  // ---- sensors
  function draw(sensors) {
    if (!VOC) return;
    const lims = layer in FIELD ? limits(sensors, FIELD[layer]) : null;
    showLegend(lims);
    const hasModel = sensors.some(s => s.modelled_shade != null);
    document.querySelector("button[data-layer=modelled_shade]").disabled = !hasModel;
    document.getElementById("no-model").hidden = hasModel;
    drawSurface(sensors, lims);
    // Permanent labels while they fit: names only on a wide map (a phone shows the values).
    const seen = new Set(), many = sensors.length > 150;
    const narrow = document.getElementById("map").clientWidth < 600;
    sensors.forEach(s => {
      if (s.lat == null || s.lon == null) return;
      seen.add(s.id);
      let m = markers.get(s.id);
      if (!m) {
        m = L.circleMarker([s.lat, s.lon], { radius: 11, weight: 1.5, color: "#333", fillOpacity: 0.95 });
        m.on("click", () => select(s.id, true));
        m.addTo(map);
        markers.set(s.id, m);
        const el = m.getElement();
        el.setAttribute("data-id", s.id);
        el.setAttribute("tabindex", "0");
        el.setAttribute("role", "button");
        el.addEventListener("keydown", ev => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); select(s.id, true); } });
      }
      m.setLatLng([s.lat, s.lon]);
      const fill = colour(s, lims);
      m.setStyle({ fillColor: fill, dashArray: s.stale ? "3 3" : null, weight: selected === s.id ? 4 : 1.5,
        color: selected === s.id ? "#000" : "#333" });
      const el = m.getElement();
      el.setAttribute("class", "leaflet-interactive sensor" + (s.stale ? " stale" : "") +
        (s.state && s.state.hot_spot ? " hot" : "") + (selected === s.id ? " sel" : ""));
      el.setAttribute("data-level", s.wbgt_level ? s.wbgt_level.code : "");
      el.setAttribute("aria-label", (s.name || s.id) + ": " + label(s));
      // Tooltips take a DOM node (never an HTML string): the name is device-supplied text.
      const tip = document.createElement("div");
      if (!narrow) tip.appendChild(span(s.name || s.id, "tip-name"));
      tip.appendChild(document.createTextNode(" " + label(s)));
      if (!m.getTooltip()) m.bindTooltip(tip, { permanent: !many, direction: "top", offset: [0, -10], className: "val" });
      else m.setTooltipContent(tip);
    });
    for (const [id, m] of markers) if (!seen.has(id)) { map.removeLayer(m); markers.delete(id); }
    if (!fitted) {
      const b = L.latLngBounds(sensors.filter(s => s.lat != null).map(s => [s.lat, s.lon]));
      if (streets.getLayers().length) b.extend(streets.getBounds());
      // maxZoom: one sensor (or several at one spot) would otherwise ask for zoom Infinity.
      if (b.isValid()) { map.fitBounds(b, { padding: [20, 20], maxZoom: 18 }); fitted = true; }
    }
    if (selected) showDetail(sensors.find(x => x.id === selected));
  }

  // ---- one sensor: its details and its chart
  async function select(id, user) {
    selected = id;
    const url = new URL(location.href);
    url.searchParams.set("sensor", id);
    window.history.replaceState(null, "", url);
    draw(last);
    const s = last.find(x => x.id === id);
    if (s && s.lat != null && !user) map.panTo([s.lat, s.lon]);
    await loadChart(id);
  }
  async function loadChart(id) {
    try {
      const data = await (await fetch("/api/v1/heat/sensors/" + encodeURIComponent(id) + "/series")).json();
      if (id === selected) C.sensor(document.getElementById("sensor-chart"), data.points || [], VOC, LANG);
    } catch (e) { /* the chart stays as it was; the live values above still show */ }
  }
  function text(id, v) { document.getElementById(id).textContent = v; }
  function showDetail(s) {
    document.getElementById("detail-hint").hidden = !!s;
    document.getElementById("detail-body").hidden = !s;
    if (!s) return;
    text("d-name", s.name || s.id);
    text("d-id", s.id);
    const chip = document.getElementById("d-level");
    chip.className = "level-chip " + (s.wbgt_level && !s.stale ? "lv-" + s.wbgt_level.code : "lv-none");
    chip.textContent = s.wbgt_level ? s.wbgt_level[LANG] : "—";
    text("d-age", s.stale && s.age_s != null ? T.ago.replace("{minutes}", Math.round(s.age_s / 60)) : "");
    text("d-wbgt", fmt(s.wbgt_c, 1));
    text("d-air", fmt(s.air_c, 1));
    text("d-humidity", fmt(s.humidity, 0));
    text("d-surface", fmt(s.surface_c, 1));
    text("d-sun", s.state ? T[s.state.sun] + (s.state.hot_spot ? " · " + T.hot_spot : "") : "—");
    text("d-faults", s.state && s.state.faults && s.state.faults.length ? s.state.faults.join(", ") : "—");
  }

  // ---- the time slider: the trend's windows over the last 24 h
  const slider = document.getElementById("time-slider"), liveBtn = document.getElementById("time-live");
  function stamp(t) {
    return new Date(t * 1000).toLocaleString(LANG === "ja" ? "ja-JP" : "en-GB", { timeZone: "Asia/Tokyo" });
  }
  async function loadHistory(newest) {
    windows = (await (await fetch("/api/v1/heat/times?until=" + newest)).json()).times;
    slider.disabled = windows.length < 2;
    slider.max = Math.max(0, windows.length - 1);
    if (viewing === null) { slider.value = slider.max; text("time-label", T.live); }
  }
  slider.addEventListener("input", async () => {
    const t = windows[+slider.value];
    if (t == null) return;
    viewing = +slider.value === windows.length - 1 ? null : t;
    liveBtn.disabled = viewing === null;
    text("time-label", viewing === null ? T.live : stamp(t));
    if (viewing === null) { refresh(); return; }
    const data = await (await fetch("/api/v1/heat/at?t=" + t)).json();
    if (viewing !== t) return;  // the slider moved on meanwhile
    last = data.sensors;
    draw(last);
  });
  liveBtn.addEventListener("click", () => {
    viewing = null;
    liveBtn.disabled = true;
    slider.value = slider.max;
    text("time-label", T.live);
    refresh();
  });

  // ---- live updates
  async function refresh() {
    try {
      if (VOC === null) {
        VOC = await (await fetch("/api/v1/heat/levels")).json();
        await loadStreets();
      }
      if (viewing !== null) return;
      const data = await (await fetch("/api/v1/sensors")).json();
      if (viewing !== null) return;
      last = data.sensors;
      draw(last);
      const newest = data.newest || 0;
      text("count", last.length);
      text("stale-count", last.filter(s => s.stale).length);
      text("updated", newest ? stamp(newest) : "—");
      if (selected && !document.getElementById("map").dataset.opened) {
        document.getElementById("map").dataset.opened = "1";
        if (last.some(s => s.id === selected)) select(selected, false);
      }
      // The plots change only when a window arrives (or fills up): ask only then.
      const windowKey = newest + ":" + last.filter(s => s.updated === newest).length;
      if (windowKey !== plottedKey && newest) {
        const tr = await (await fetch("/api/v1/heat/trend")).json();
        C.trend(document.getElementById("trend"), tr.points, VOC, T, LANG);
        C.people(document.getElementById("people"), (await (await fetch("/api/v1/people/trend")).json()).points, T);
        await loadHistory(newest);
        if (selected && plottedKey) loadChart(selected);  // a new window: extend its chart
        plottedKey = windowKey;
      }
      document.getElementById("live-dot").classList.remove("off");
      text("live-text", T.live);
    } catch (e) {
      document.getElementById("live-dot").classList.add("off");
      text("live-text", T.conn_lost);
    }
  }
  refresh();
  setInterval(refresh, CFG.refresh_ms);
})();
