// The responders' app's service worker: shows pushed alerts, opens the link when tapped, and
// keeps the app's shell for a flaky connection (data itself is always fetched fresh).
const SHELL = "machimori-watch-v1";
self.addEventListener("install", e => {
  e.waitUntil(caches.open(SHELL).then(c => c.addAll(["/watch/app.js", "/watch/icon.svg"])));
});
self.addEventListener("fetch", e => {
  const url = new URL(e.request.url);
  if (e.request.method === "GET" && (url.pathname === "/watch/app.js" || url.pathname === "/watch/icon.svg")) {
    e.respondWith(fetch(e.request).catch(() => caches.match(e.request)));
  }
});
self.addEventListener("push", e => {
  let m = { title: "まちもり見守り", body: "" };
  try { m = e.data.json(); } catch (err) { /* a push without a payload */ }
  e.waitUntil(self.registration.showNotification(m.title, {
    body: m.body, tag: m.tag, data: { url: m.url || "/watch/" }, requireInteraction: true }));
});
self.addEventListener("notificationclick", e => {
  e.notification.close();
  e.waitUntil(clients.openWindow(e.notification.data.url));
});
