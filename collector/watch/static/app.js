// The responders' app: open alerts by severity and age, acting on them, a person's timeline and
// last-seen place. Data only ever reaches the page through textContent (never innerHTML).
(function () {
  "use strict";
  const root = document.getElementById("app");
  const T = JSON.parse(root.dataset.texts);
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const list = document.getElementById("alerts"), detail = document.getElementById("person");
  const svgNS = "http://www.w3.org/2000/svg";
  let basemap = null;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function ago(t) {
    const m = Math.max(0, Math.round((Date.now() / 1000 - t) / 60));
    if (m < 60) return T.minutes_ago.replace("{n}", m);
    if (m < 60 * 48) return T.hours_ago.replace("{n}", Math.round(m / 60));
    return T.days_ago.replace("{n}", Math.round(m / 1440));
  }
  function clock(t) {
    const d = new Date(t * 1000);
    return d.toLocaleString(T.locale, { month: "numeric", day: "numeric", hour: "2-digit",
                                        minute: "2-digit", timeZone: "Asia/Tokyo" });
  }
  async function api(method, path, body) {
    const r = await fetch(path, { method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body ? JSON.stringify(body) : undefined });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(data.message || r.status);
    return data;
  }

  function card(a) {
    const c = el("article", "alert sev-" + a.severity);
    c.dataset.id = a.id;
    const head = el("div", "alert-head");
    head.append(el("span", "badge sev-" + a.severity, T.severity[a.severity]),
                el("strong", "cause", T.locale === "ja-JP" ? a.cause_ja : a.cause_en),
                el("span", "age", ago(a.opened_at)));
    c.append(head);
    const who = el("button", "who link", a.name || a.subject);
    if (a.subject.startsWith("person:") || a.subject.startsWith("household:")) {
      who.addEventListener("click", () => showPerson(a.person || a.subject.split(":")[1]));
    } else {
      who.disabled = true;
    }
    c.append(who);
    const st = el("p", "state", T.states[a.state] + (a.muted ? "（" + T.muted[a.muted] + "）" : ""));
    c.append(st);
    const d = a.deliveries || [];
    if (d.length) {
      const sent = d.filter(x => x.state === "sent").length;
      const waiting = d.filter(x => x.state === "pending" || x.state === "failed").length;
      const dead = d.filter(x => x.state === "dead").length;
      c.append(el("p", "told", T.told.replace("{sent}", sent).replace("{waiting}", waiting)
                   + (dead ? " " + T.undeliverable.replace("{n}", dead) : "")));
    }
    const note = el("input", "note");
    note.placeholder = T.note;
    note.maxLength = 500;
    const row = el("div", "actions");
    for (const act of ["acknowledge", "resolve", "escalate"]) {
      if (act === "acknowledge" && a.state === "acknowledged") continue;
      const b = el("button", "act " + act, T[act]);
      b.addEventListener("click", async () => {
        try { await api("POST", "/api/v1/watch/alerts/" + a.id + "/" + act,
                        { note: note.value || undefined }); load(); }
        catch (e) { st.textContent = String(e.message); }
      });
      row.append(b);
    }
    if (a.subject.startsWith("person:") || a.subject.startsWith("household:")) {
      const b = el("button", "act silence", T.silence);
      b.addEventListener("click", async () => {
        const days = Number(prompt(T.silence_days, "3"));
        if (!(days > 0)) return;
        try {
          await api("POST", "/api/v1/watch/silences", { subject: a.subject, cause: "*",
            ends_at: Date.now() / 1000 + days * 86400, reason: note.value || T.silence_reason });
          load();
        } catch (e) { st.textContent = String(e.message); }
      });
      row.append(b);
    }
    c.append(note, row);
    return c;
  }

  async function load() {
    const data = await api("GET", "/api/v1/watch/alerts");
    list.replaceChildren();
    if (!data.items.length) list.append(el("p", "empty", T.no_alerts));
    for (const a of data.items) list.append(card(a));
  }

  function miniMap(seen) {
    const svg = document.createElementNS(svgNS, "svg");
    svg.setAttribute("viewBox", "0 0 300 200");
    svg.setAttribute("class", "minimap");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", T.last_seen);
    const pts = [];
    for (const f of (basemap && basemap.features) || []) {
      if (f.geometry && f.geometry.type === "LineString") pts.push(f.geometry.coordinates);
    }
    // The neighbourhood around the place (about 600 m across), north up; streets outside it
    // fall off the picture.
    const kx = Math.cos(seen.lat * Math.PI / 180), s = 300 / 0.0055;  // px per degree of lat
    const px = p => [150 + (p[0] - seen.lon) * kx * s, 100 - (p[1] - seen.lat) * s];
    for (const line of pts) {
      const pl = document.createElementNS(svgNS, "polyline");
      pl.setAttribute("points", line.map(p => px(p).join(",")).join(" "));
      pl.setAttribute("class", "street");
      svg.append(pl);
    }
    const [cx, cy] = px([seen.lon, seen.lat]);
    const dot = document.createElementNS(svgNS, "circle");
    dot.setAttribute("cx", cx); dot.setAttribute("cy", cy); dot.setAttribute("r", 7);
    dot.setAttribute("class", "seen");
    svg.append(dot);
    return svg;
  }

  async function showPerson(pid) {
    const d = await api("GET", "/api/v1/watch/persons/" + encodeURIComponent(pid));
    if (basemap === null) basemap = await api("GET", "/api/v1/basemap").catch(() => ({}));
    detail.replaceChildren();
    detail.hidden = false;
    const back = el("button", "link back", T.back);
    back.addEventListener("click", () => { detail.hidden = true; list.hidden = false; });
    detail.append(back, el("h2", "name", d.person.name));
    if (d.person.address) detail.append(el("p", "address", d.person.address));
    if (d.person.phone) {
      const a = el("a", "tel", d.person.phone);
      a.href = "tel:" + d.person.phone;
      detail.append(a);
    }
    const ls = el("section", "last-seen");
    ls.append(el("h3", null, T.last_seen));
    if (d.last_seen) {
      ls.append(el("p", "where", (d.last_seen.place || d.last_seen.gw) + " — " +
                   clock(d.last_seen.t) + "（" + d.last_seen.gw + "）"));
      if (d.last_seen.lat != null) ls.append(miniMap(d.last_seen));
    } else {
      ls.append(el("p", "where", T.never_seen));
    }
    detail.append(ls, el("h3", null, T.timeline));
    const ul = el("ul", "timeline");
    for (const i of d.timeline) {
      const text = i.type === "event" ? T.event + ": " + (T.kinds[i.kind] || i.kind) :
        i.type === "seen" ? T.seen_at.replace("{gw}", i.gw) :
        T.meter.replace("{wh}", i.energy_wh);
      const li = el("li", "t-" + i.type);
      li.append(el("time", null, clock(i.t)), el("span", null, " " + text));
      ul.append(li);
    }
    if (!d.timeline.length) ul.append(el("li", null, T.nothing));
    detail.append(ul);
    list.hidden = true;
  }

  async function subscribe() {
    const out = document.getElementById("push-state");
    try {
      const reg = await navigator.serviceWorker.register("/watch/sw.js", { scope: "/watch/" });
      const { key } = await api("GET", "/api/v1/watch/push");
      const raw = atob(key.replace(/-/g, "+").replace(/_/g, "/"));
      const sub = await reg.pushManager.subscribe({ userVisibleOnly: true,
        applicationServerKey: Uint8Array.from(raw, ch => ch.charCodeAt(0)) });
      await api("POST", "/api/v1/watch/push", sub.toJSON());
      out.textContent = T.push_on;
    } catch (e) { out.textContent = T.push_failed + " " + e.message; }
  }

  document.getElementById("refresh").addEventListener("click", load);
  document.getElementById("push").addEventListener("click", subscribe);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/watch/sw.js", { scope: "/watch/" }).catch(() => {});
  }
  document.addEventListener("visibilitychange", () => { if (!document.hidden) load(); });
  load().catch(e => { list.textContent = String(e.message); });
})();
