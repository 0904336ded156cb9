// Heat arithmetic for the pages: a level from the contract's bounds (fetched from
// /api/v1/heat/levels, never copied here), distances, and inverse-distance weighting.
window.MachimoriHeatMath = (function () {
  "use strict";
  function levelOf(v, voc) {
    let code = 0;
    voc.bounds.forEach(b => { if (v >= b) code += 1; });
    return voc.levels[code];
  }
  // Metres between two points (equirectangular; exact enough across a town).
  function distanceM(lat1, lon1, lat2, lon2) {
    const k = Math.cos((lat1 + lat2) / 2 * Math.PI / 180);
    const dy = (lat2 - lat1) * 111320, dx = (lon2 - lon1) * 111320 * k;
    return Math.sqrt(dx * dx + dy * dy);
  }
  // A value per cell of an nx × ny grid over [south, west, north, east] by inverse-distance
  // weighting (power 2) of points {lat, lon, v}; NaN where no point is within maxM metres.
  function idwGrid(points, box, nx, ny, maxM) {
    const [s, w, n, e] = box;
    const out = new Float64Array(nx * ny);
    const k = Math.cos((s + n) / 2 * Math.PI / 180);
    const px = points.map(p => (p.lon - w) * 111320 * k), py = points.map(p => (n - p.lat) * 111320);
    const cw = (e - w) * 111320 * k / nx, ch = (n - s) * 111320 / ny, max2 = maxM * maxM;
    for (let j = 0; j < ny; j++) {
      const y = (j + 0.5) * ch;
      for (let i = 0; i < nx; i++) {
        const x = (i + 0.5) * cw;
        let num = 0, den = 0, near = false, exact = NaN;
        for (let q = 0; q < points.length; q++) {
          const dx = x - px[q], dy = y - py[q], d2 = dx * dx + dy * dy;
          if (d2 > max2) continue;
          if (d2 < 1) { exact = points[q].v; break; }
          near = true;
          const wgt = 1 / d2;
          num += wgt * points[q].v;
          den += wgt;
        }
        out[j * nx + i] = !isNaN(exact) ? exact : near ? num / den : NaN;
      }
    }
    return out;
  }
  return { levelOf, distanceM, idwGrid };
})();
