// The catalogue's map: the current search's resources as points on a small SVG map (no
// tiles, nothing fetched from elsewhere). Names are set with textContent, never as HTML.
(function () {
  "use strict";
  var svg = document.getElementById("rmap");
  var pick = document.getElementById("rmap-pick");
  if (!svg) { return; }
  var NS = "http://www.w3.org/2000/svg";
  var W = 400, H = 300, PAD = 12;
  var params = new URLSearchParams(window.location.search);
  params.delete("cursor");
  params.delete("lang");
  params.set("limit", "200");

  function draw(items) {
    var pts = items.filter(function (it) { return it.lat !== null && it.lon !== null; });
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    if (!pts.length) { return; }
    var lats = pts.map(function (p) { return p.lat; }), lons = pts.map(function (p) { return p.lon; });
    var y0 = Math.min.apply(null, lats), y1 = Math.max.apply(null, lats);
    var x0 = Math.min.apply(null, lons), x1 = Math.max.apply(null, lons);
    var k = Math.cos((y0 + y1) / 2 * Math.PI / 180);  // keep distances true east-west
    var sx = (x1 - x0) * k || 0.01, sy = (y1 - y0) || 0.01;
    var s = Math.min((W - 2 * PAD) / sx, (H - 2 * PAD) / sy);
    pts.forEach(function (p) {
      var c = document.createElementNS(NS, "circle");
      c.setAttribute("cx", String(PAD + (p.lon - x0) * k * s));
      c.setAttribute("cy", String(H - PAD - (p.lat - y0) * s));
      c.setAttribute("r", "5");
      c.setAttribute("class", "rpoint");
      c.setAttribute("data-id", String(p.id));
      var title = document.createElementNS(NS, "title");
      title.textContent = p.name;
      c.appendChild(title);
      c.addEventListener("click", function () {
        svg.querySelectorAll(".rpoint.sel").forEach(function (e) { e.classList.remove("sel"); });
        c.classList.add("sel");
        pick.textContent = "";
        var a = document.createElement("a");
        a.href = "/resources/" + p.id;
        a.textContent = p.name;
        pick.appendChild(a);
      });
      svg.appendChild(c);
    });
  }

  fetch("/api/v1/resources?" + params.toString(), {credentials: "same-origin"})
    .then(function (r) { return r.ok ? r.json() : {items: []}; })
    .then(function (body) { draw(body.items || []); })
    .catch(function () { /* the list above still works without the map */ });
}());
