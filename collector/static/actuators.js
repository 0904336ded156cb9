// Cool-spot actuators (mist, fans) on the heat map: polls /api/v1/actuators and draws each as a
// marker on the Leaflet map heat.js made, filled while running. Text only, via textContent.
(function () {
  "use strict";
  const map = window.machimoriMap;
  const conf = document.getElementById("heat-config");
  if (!map || !conf) return;
  const T = JSON.parse(conf.dataset.texts);
  const markers = new Map();
  const SVG = "http://www.w3.org/2000/svg";

  function label(a, state) {
    const w = a.wbgt_c == null ? "—" : Number(a.wbgt_c).toFixed(1) + " °C";
    return `${T.coolspot}: ${a.name || a.id} — ${T["coolspot_" + state]} (WBGT ${w}, ≥ ${a.on_wbgt} °C)`;
  }

  function draw(spots) {
    const seen = new Set();
    spots.forEach(a => {
      if (a.lat == null || a.lon == null) return;
      const state = ["on", "off"].includes(a.state) ? a.state : "unknown";
      seen.add(a.id);
      let m = markers.get(a.id);
      if (!m) {
        m = L.circleMarker([a.lat, a.lon], { radius: 9, weight: 2, fillOpacity: 1,
                                             className: "coolspot" }).addTo(map);
        const tip = document.createElement("span");
        m.bindTooltip(tip, { direction: "top", offset: [0, -8] });
        markers.set(a.id, m);
      }
      const path = m.getElement();
      path.setAttribute("class", "leaflet-interactive coolspot " + state);
      path.setAttribute("data-id", a.id);
      path.setAttribute("data-state", state);
      let title = path.querySelector("title");
      if (!title) {
        title = document.createElementNS(SVG, "title");
        path.appendChild(title);
      }
      const text = label(a, state);
      title.textContent = text;
      m.getTooltip().getContent().textContent = text;
    });
    for (const [id, m] of markers) {
      if (!seen.has(id)) { m.remove(); markers.delete(id); }
    }
  }

  async function poll() {
    try {
      const r = await fetch("/api/v1/actuators");
      if (r.ok) draw((await r.json()).actuators || []);
    } catch (e) { /* the next poll tries again */ }
  }
  // Markers need the map's view: heat.js sets it once the sensors have arrived.
  map.whenReady(() => {
    poll();
    setInterval(poll, 5000);
  });
})();
