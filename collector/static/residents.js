// The residents' page: the WBGT level where you are (from the nearest sensor with a fresh
// reading), the nearest open cool spot, and the cool route there. Cool spots and routes are
// optional services: a 404 (or any failure) from them is said plainly, never a broken page.
(function () {
  "use strict";
  const HM = window.MachimoriHeatMath;
  const conf = document.getElementById("res-config").dataset;
  const T = JSON.parse(conf.texts), CFG = JSON.parse(conf.cfg), LANG = conf.lang;
  const MAX_SENSOR_M = 2000;
  let VOC = null, sensors = [], base = null, routeLayer = null, here = null;

  function text(id, v) { document.getElementById(id).textContent = v; }
  function show(id, on) { document.getElementById(id).hidden = !on; }
  function metres(m) { return Math.round(m).toLocaleString(LANG === "ja" ? "ja-JP" : "en-GB"); }

  async function getJson(url) {
    const r = await fetch(url);
    if (!r.ok) throw new Error(url + ": " + r.status);
    return r.json();
  }

  function nearestSensor(lat, lon) {
    let best = null;
    sensors.forEach(s => {
      if (s.stale || s.lat == null || s.wbgt_c == null) return;
      const d = HM.distanceM(lat, lon, s.lat, s.lon);
      if (d <= MAX_SENSOR_M && (!best || d < best.d)) best = { s, d };
    });
    return best;
  }

  function showLevel(lat, lon) {
    const near = nearestSensor(lat, lon);
    show("level-card", !!near);
    show("no-sensor", !near);
    if (!near) return;
    const lv = near.s.wbgt_level ? VOC.levels[near.s.wbgt_level.code] : HM.levelOf(near.s.wbgt_c, VOC);
    const chip = document.getElementById("r-level");
    chip.className = "level-chip lv-" + lv.code;
    chip.textContent = LANG === "ja" ? lv.ja : lv.en;
    text("r-level-other", LANG === "ja" ? lv.en : lv.ja);
    document.getElementById("level-card").className = "card level-card lv-border-" + lv.code;
    text("r-wbgt", near.s.wbgt_c.toFixed(1));
    text("r-advice", LANG === "ja" ? lv.advice_ja : lv.advice_en);
    text("r-sensor", near.s.name || near.s.id);
    text("r-sensor-distance", T.res_away.replace("{metres}", metres(near.d)));
  }

  function drawRoute(from, spot, route) {
    if (!base) {
      base = window.MachimoriBase.create("res-map", CFG.tile_url, "res-offline");
      base.loadStreets().catch(() => {});
    }
    if (routeLayer) base.map.removeLayer(routeLayer);
    routeLayer = L.featureGroup().addTo(base.map);
    const you = L.circleMarker([from.lat, from.lon], { radius: 8, color: "#000", weight: 2, fillColor: "#fff", fillOpacity: 1, className: "you" });
    you.addTo(routeLayer);
    L.circleMarker([spot.lat, spot.lon], { radius: 9, color: "#000", weight: 2, fillColor: "#2b8a3e", fillOpacity: 1, className: "spot" }).addTo(routeLayer);
    if (route) {
      const line = r => r.geometry.coordinates.map(c => [c[1], c[0]]);
      L.polyline(line(route.shortest), { color: "#555", weight: 4, dashArray: "6 6", className: "route-shortest" }).addTo(routeLayer);
      L.polyline(line(route.cool), { color: "#1c5dbf", weight: 6, className: "route-cool" }).addTo(routeLayer);
    } else {
      L.polyline([[from.lat, from.lon], [spot.lat, spot.lon]], { color: "#555", weight: 2, dashArray: "2 6", className: "route-straight" }).addTo(routeLayer);
    }
    base.map.invalidateSize();  // the block was hidden until now: let Leaflet measure it
    base.map.fitBounds(routeLayer.getBounds(), { padding: [30, 30], maxZoom: 18 });
  }

  async function showCoolSpot(lat, lon) {
    show("cool-card", true);
    let spots;
    try {
      spots = (await getJson("/api/v1/coolspots?at=" + encodeURIComponent(new Date().toISOString()))).items || [];
    } catch (e) {
      show("cool-spot", false);
      show("cool-none", true);
      text("cool-none", T.res_no_coolspots);
      show("route-block", false);
      return;
    }
    const open = spots.filter(s => s.open && s.lat != null && s.lon != null)
      .map(s => ({ s, d: HM.distanceM(lat, lon, s.lat, s.lon) })).sort((a, b) => a.d - b.d);
    show("cool-none", !open.length);
    show("cool-spot", !!open.length);
    show("route-block", !!open.length);
    if (!open.length) { text("cool-none", T.res_no_open_coolspot); return; }
    const spot = open[0].s;
    text("c-name", spot.name || spot.id);
    text("c-kind", (T.res_kinds && T.res_kinds[spot.kind]) || spot.kind || "");
    text("c-distance", T.res_away.replace("{metres}", metres(open[0].d)));
    let route = null;
    try {
      route = await getJson("/api/v1/route?from=" + lat.toFixed(6) + "," + lon.toFixed(6) +
        "&to=" + spot.lat.toFixed(6) + "," + spot.lon.toFixed(6) + "&mode=coolest");
      if (!route.cool || !route.shortest) route = null;
    } catch (e) { route = null; }
    if (route) {
      text("route-summary", T.res_route_summary.replace("{length}", metres(route.cool.length_m))
        .replace("{sun}", metres(route.cool.sun_m)).replace("{short_length}", metres(route.shortest.length_m))
        .replace("{short_sun}", metres(route.shortest.sun_m)));
    } else {
      text("route-summary", T.res_no_route + " — " + T.res_straight.replace("{metres}", metres(open[0].d)));
    }
    drawRoute({ lat, lon }, spot, route);
  }

  async function at(lat, lon) {
    here = { lat, lon };
    showLevel(lat, lon);
    await showCoolSpot(lat, lon);
    document.body.dataset.ready = "1";
  }

  document.getElementById("use-location").addEventListener("click", () => {
    if (!navigator.geolocation) { text("where-status", T.res_location_denied); return; }
    text("where-status", T.res_locating);
    navigator.geolocation.getCurrentPosition(
      pos => { text("where-status", ""); document.getElementById("place").value = ""; at(pos.coords.latitude, pos.coords.longitude); },
      () => text("where-status", T.res_location_denied), { timeout: 10000, maximumAge: 60000 });
  });
  document.getElementById("place").addEventListener("change", ev => {
    const s = sensors.find(x => x.id === ev.target.value);
    if (s) at(s.lat, s.lon);
  });

  async function start() {
    VOC = await getJson("/api/v1/heat/levels");
    sensors = (await getJson("/api/v1/sensors")).sensors;
    const sel = document.getElementById("place");
    sensors.filter(s => s.lat != null).slice().sort((a, b) => (a.name || a.id).localeCompare(b.name || b.id, "ja"))
      .forEach(s => {
        const o = document.createElement("option");
        o.value = s.id;
        o.textContent = s.name || s.id;  // device-supplied text: never HTML
        sel.appendChild(o);
      });
    document.body.dataset.loaded = "1";
  }
  start().catch(() => text("where-status", T.conn_lost));
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/residents-sw.js", { scope: "/residents" }).catch(() => {});
  }
})();
