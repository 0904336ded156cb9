// The residents' page service worker: keeps the page and its files for when the network is
// poor (network first, the kept copy when it fails), and never caches anything else.
"use strict";
const CACHE = "machimori-residents-v1";
const SHELL = ["/residents", "/static/site.css", "/static/residents.js", "/static/basemap.js",
  "/static/heatmath.js", "/static/vendor/leaflet/leaflet.js", "/static/vendor/leaflet/leaflet.css",
  "/heat/levels.css", "/api/v1/heat/levels", "/static/residents-icon.svg"];

self.addEventListener("install", ev => {
  ev.waitUntil(caches.open(CACHE).then(c => c.addAll(SHELL)).then(() => self.skipWaiting()));
});
self.addEventListener("activate", ev => {
  ev.waitUntil(caches.keys().then(keys => Promise.all(
    keys.filter(k => k !== CACHE).map(k => caches.delete(k)))).then(() => self.clients.claim()));
});
self.addEventListener("fetch", ev => {
  const url = new URL(ev.request.url);
  if (ev.request.method !== "GET" || url.origin !== self.location.origin) return;
  const kept = SHELL.includes(url.pathname) || url.pathname === "/api/v1/sensors";
  if (!kept) return;
  ev.respondWith(fetch(ev.request).then(resp => {
    if (resp.ok) { const copy = resp.clone(); caches.open(CACHE).then(c => c.put(url.pathname, copy)); }
    return resp;
  }).catch(() => caches.match(url.pathname)));
});
