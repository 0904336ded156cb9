// The base of every map: 地理院タイル (or the configured tiles) when they load, else the town's
// own streets from /api/v1/basemap, with a note saying so. Used by the heat and residents pages.
window.MachimoriBase = (function () {
  "use strict";
  // mapId: the element; tileUrl: XYZ template ("" = offline only); noteId: the note to show.
  function create(mapId, tileUrl, noteId) {
    const map = L.map(mapId, { attributionControl: false, zoomSnap: 0.25 });
    map.setView([35.68, 139.76], 15);
    const streets = L.featureGroup().addTo(map);
    let tiles = null, loaded = 0;
    function offline() {
      document.getElementById(mapId).classList.add("offline");
      document.getElementById(noteId).hidden = false;
      if (tiles) { map.removeLayer(tiles); tiles = null; }
    }
    if (tileUrl) {
      tiles = L.tileLayer(tileUrl, { maxZoom: 18, minZoom: 5 });
      tiles.on("tileload", () => { loaded += 1; });
      tiles.on("tileerror", () => { if (loaded === 0) offline(); });
      tiles.addTo(map);
    } else {
      offline();
    }
    async function loadStreets() {
      const gj = await (await fetch("/api/v1/basemap")).json();
      L.geoJSON(gj, { interactive: false,
        style: () => ({ className: "street", color: "#8d968d", weight: 3, opacity: 0.8 }) }).addTo(streets);
      return streets;
    }
    return { map, streets, loadStreets };
  }
  return { create };
})();
