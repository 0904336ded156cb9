// Cool-spot actuators on the heat map: polls /api/v1/actuators and draws each as a diamond
// (filled while running) through heat.js's overlay hook. Text only via textContent.
(function () {
  "use strict";
  const M = window.MACHIMORI = window.MACHIMORI || {};
  let spots = [];
  async function poll() {
    try {
      spots = (await (await fetch("/api/v1/actuators")).json()).actuators;
    } catch (e) {
      spots = [];
    }
  }
  function draw(map, project, el) {
    const T = M.texts;
    spots.forEach(a => {
      const [x, y] = project(a.lon, a.lat);
      const state = ["on", "off"].includes(a.state) ? a.state : "unknown";
      const d = el("polygon", { points: `${x},${y - 11} ${x + 11},${y} ${x},${y + 11} ${x - 11},${y}`,
        class: "coolspot " + state, "data-id": a.id, "data-state": state }, map);
      const w = a.wbgt_c == null ? "—" : a.wbgt_c.toFixed(1) + " °C";
      el("title", {}, d).textContent =
        `${T.coolspot}: ${a.name || a.id} — ${T["coolspot_" + state]} (WBGT ${w}, ≥ ${a.on_wbgt} °C)`;
    });
  }
  M.overlays = (M.overlays || []).concat([draw]);
  poll();
  setInterval(poll, 5000);
})();
