// wirelab dashboard: one page, no framework, no build step. It reads the
// REST API under /api/v1 (docs/api.md) and listens to each lab's event
// stream; every number it shows is in simulated time.
"use strict";

const API = "/api/v1";
const SVG = "http://www.w3.org/2000/svg";
const POLL_MS = 1000;

const state = {
  lab: null, // id of the lab shown
  topology: null,
  counters: null, // the last counters, to turn byte counts into rates
  lastBytes: new Map(), // "node/iface" -> [time_ns, bytes]
  events: null, // the EventSource of the lab shown
  timer: null,
  paused: false,
  trace: null, // the trace drawn, to draw it again at a new width
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const svg = ["svg", "g", "rect", "circle", "line", "text", "path", "title", "polygon"].includes(tag);
  const node = svg ? document.createElementNS(SVG, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c !== undefined && c !== null) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

// The page's own state lives in the address's fragment, so a link (or a
// test) can open a lab on a tab: #lab=ID&tab=trace&trace=from,to,tcp,443&run=1
function hashParams() {
  return new URLSearchParams(location.hash.slice(1));
}

function setHash(key, value) {
  const p = hashParams();
  if (value === null) p.delete(key); else p.set(key, value);
  history.replaceState(null, "", "#" + p.toString());
}

// A server started with --token wants it on every request that changes or
// runs something; the page asks once and keeps it for the tab's life.
const TOKEN_KEY = "wirelab-token";

async function api(path, options = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = { ...(options.headers || {}) };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(API + path, { ...options, headers });
  if (res.status === 401 && !options.retried) {
    const given = prompt("This server was started with --token. Its token:");
    if (given) {
      sessionStorage.setItem(TOKEN_KEY, given.trim());
      return api(path, { ...options, retried: true });
    }
  }
  const type = res.headers.get("content-type") || "";
  const body = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) {
    const detail = (body && (body.detail || body.title)) || res.statusText;
    const err = new Error(`${res.status}: ${detail}`);
    err.problem = body;
    throw err;
  }
  return body;
}

function seconds(ns) {
  const s = Number(ns) / 1e9;
  if (s < 1e-3) return `${(s * 1e6).toFixed(0)} µs`;
  if (s < 1) return `${(s * 1e3).toFixed(1)} ms`;
  return `${s.toFixed(s < 60 ? 2 : 0)} s`;
}

function bytes(n) {
  n = Number(n);
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function rate(bitsPerSecond) {
  const b = bitsPerSecond;
  if (b < 1e3) return `${b.toFixed(0)} bit/s`;
  if (b < 1e6) return `${(b / 1e3).toFixed(1)} kbit/s`;
  if (b < 1e9) return `${(b / 1e6).toFixed(1)} Mbit/s`;
  return `${(b / 1e9).toFixed(2)} Gbit/s`;
}

function showError(where, err) {
  where.replaceChildren(el("p", { class: "verdict deny" }, err.message));
}

// ---- labs ---------------------------------------------------------------

async function loadLabs() {
  const labs = await api("/labs");
  const list = labs.labs || [];
  const select = $("lab");
  select.replaceChildren(...list.map((l) => el("option", { value: l.id }, l.id)));
  const wanted = hashParams().get("lab");
  const first = list.find((l) => l.id === wanted) || list[0];
  if (first) {
    select.value = first.id;
    await openLab(first.id);
  } else {
    $("title").textContent = "no lab loaded: PUT one to /api/v1/labs/{id}";
  }
}

async function openLab(id) {
  state.lab = id;
  state.lastBytes.clear();
  setHash("lab", id);
  const lab = await api(`/labs/${encodeURIComponent(id)}`);
  $("title").textContent = lab.title || lab.name || "";
  if (lab.validation === "invalid") {
    // An invalid lab has nothing to draw: show its problems instead.
    $("title").textContent = `${id} is invalid`;
    $("topology").replaceChildren();
    $("checks").replaceChildren(...lab.diagnostics.map((d) => el("li", { class: "fail" }, d.text ?? d.message)));
    listen(id);
    return;
  }
  if (lab.clock) showClock(lab.clock);
  state.topology = await api(`/labs/${encodeURIComponent(id)}/topology`);
  drawTopology(state.topology);
  fillTraceForm(state.topology);
  $("checks").replaceChildren();
  $("score").textContent = "";
  $("events").replaceChildren();
  $("trace-verdict").className = "verdict";
  $("trace-verdict").textContent = "";
  $("sequence").replaceChildren();
  state.trace = null;
  if (hashParams().get("live") !== "0") listen(id);
  await refresh();
  const p = hashParams();
  if (p.get("run") === "1") await runChecks();
  if (p.get("trace")) {
    const [from, to, proto, port] = p.get("trace").split(",");
    const form = $("trace-form");
    form.from.value = from;
    form.to.value = to || "";
    form.proto.value = proto || "tcp";
    form.port.value = port || "";
    await trace();
  }
}

// ---- topology -----------------------------------------------------------

// A layered drawing: routers on top, one bar per network below them, each
// network's hosts in columns under its bar. Positions depend only on the
// lab's order, so the same lab always looks the same.
const COL_W = 130;
const HOST_H = 48;
const HOSTS_PER_COL = 5;

function layout(topo) {
  const nets = topo.networks || [];
  const nodes = topo.nodes || [];
  const hostsOf = new Map(nets.map((n) => [n.name, []]));
  const routers = [];
  for (const node of nodes) {
    if (node.role === "router") {
      routers.push(node);
    } else {
      const net = (node.interfaces || [])[0]?.network;
      if (hostsOf.has(net)) hostsOf.get(net).push(node);
    }
  }
  const pos = new Map();
  let x = 40;
  const netY = 170;
  const netBox = new Map();
  for (const net of nets) {
    const hosts = hostsOf.get(net.name);
    const cols = Math.max(1, Math.ceil(hosts.length / HOSTS_PER_COL));
    const label = Math.max(net.name.length, [net.ipv4, net.ipv6].filter(Boolean).join("  ").length * 0.8);
    const w = Math.max(COL_W * cols, 150, label * 8.5 + 24);
    netBox.set(net.name, { x, y: netY, w, h: 34 });
    hosts.forEach((h, i) => {
      const col = Math.floor(i / HOSTS_PER_COL);
      const row = i % HOSTS_PER_COL;
      pos.set(h.name, { x: x + COL_W * col + 56, y: netY + 80 + row * HOST_H });
    });
    x += w + 40;
  }
  const width = Math.max(x, 400);
  // A router sits above the middle of the networks it joins; routers that
  // would overlap are pushed right.
  const taken = [];
  for (const r of routers) {
    const xs = (r.interfaces || []).map((i) => netBox.get(i.network)).filter(Boolean).map((b) => b.x + b.w / 2);
    let rx = xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : width / 2;
    while (taken.some((t) => Math.abs(t - rx) < 90)) rx += 90;
    taken.push(rx);
    pos.set(r.name, { x: rx, y: 70 });
  }
  let height = netY + 60;
  for (const p of pos.values()) height = Math.max(height, p.y + 50);
  return { pos, netBox, width, height, routers };
}

function addresses(iface) {
  return [iface.ipv4, iface.ipv6].filter(Boolean);
}

function drawTopology(topo) {
  const svg = $("topology");
  const { pos, netBox, width, height } = layout(topo);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const links = el("g", { class: "links" });
  const netsG = el("g", { class: "nets" });
  const nodesG = el("g", { class: "nodes" });
  for (const net of topo.networks || []) {
    const b = netBox.get(net.name);
    netsG.append(
      el("g", { class: "net", "data-net": net.name },
        el("rect", { x: b.x, y: b.y, width: b.w, height: b.h, rx: 8 }),
        el("text", { x: b.x + 10, y: b.y + 15 }, net.name),
        el("text", { class: "cidr", x: b.x + 10, y: b.y + 29 }, [net.ipv4, net.ipv6].filter(Boolean).join("  ")),
        net.nacl ? el("title", {}, `NACL ${net.nacl}`) : null));
  }
  for (const node of topo.nodes || []) {
    const p = pos.get(node.name);
    if (!p) continue;
    for (const iface of node.interfaces || []) {
      const b = netBox.get(iface.network);
      if (!b) continue;
      // A router's line runs straight to the bar; hosts hang off a trunk
      // down the left of their column, as on a network diagram.
      const d = p.y < b.y
        ? `M${p.x},${p.y} L${Math.min(Math.max(p.x, b.x + 12), b.x + b.w - 12)},${b.y}`
        : `M${p.x - 40},${b.y + b.h} V${p.y} H${p.x - 16}`;
      links.append(el("path", { class: "link", "data-iface": `${node.name}/${iface.name}`, d },
        el("title", {}, `${node.name} ${iface.name}: ${addresses(iface).join(", ")}`)));
    }
    const router = node.role === "router";
    const label = router
      ? el("text", { class: "name", x: p.x, y: p.y - 26, "text-anchor": "middle" }, node.name)
      : el("text", { class: "name", x: p.x + 22, y: p.y + 5 }, node.name);
    const title = el("title", {}, [node.name, ...(node.interfaces || []).flatMap(addresses),
      ...(node.security_groups || []).map((g) => `security group ${g}`),
      ...(node.services || []).map((s) => `listens on ${s}`)].join("\n"));
    const shape = router
      ? el("circle", { cx: p.x, cy: p.y, r: 18 })
      : el("rect", { x: p.x - 16, y: p.y - 14, width: 32, height: 28, rx: 3 });
    nodesG.append(el("g", { class: `node ${router ? "router" : "host"}`, "data-node": node.name }, shape, label, title));
  }
  svg.replaceChildren(links, netsG, nodesG);
}

// Link utilisation: bytes sent by each interface since the last poll, per
// simulated second; a line is drawn thicker the busier it is.
function showUtilisation(counters) {
  const now = Number(counters.time_ns ?? 0);
  const down = new Set((counters.networks || []).filter((n) => n.down).map((n) => n.name));
  for (const c of counters.interfaces || []) {
    const key = `${c.node}/${c.interface}`;
    const sent = Number(c.bytes);
    const prev = state.lastBytes.get(key);
    state.lastBytes.set(key, [now, sent]);
    const line = document.querySelector(`.link[data-iface="${CSS.escape(key)}"]`);
    if (!line) continue;
    line.classList.toggle("down", down.has(c.network));
    if (!prev || now <= prev[0]) continue;
    const bps = ((sent - prev[1]) * 8 * 1e9) / (now - prev[0]);
    line.classList.toggle("busy", bps > 0);
    line.setAttribute("stroke-width", bps > 0 ? Math.min(10, 2 + Math.log10(1 + bps) - 2) : 2);
    line.querySelector("title").textContent = `${key}: ${rate(bps)} sent, ${bytes(sent)} in all`;
  }
}

// ---- counters, rules, flows -----------------------------------------------

async function refresh() {
  if (!state.lab) return;
  const id = encodeURIComponent(state.lab);
  try {
    const [counters, flows] = await Promise.all([api(`/labs/${id}/counters`), api(`/labs/${id}/flows`)]);
    state.counters = counters;
    $("clock").textContent = seconds(counters.time_ns);
    showUtilisation(counters);
    showRules(counters.rules || []);
    showFlows(flows.flows);
  } catch (err) {
    $("live").classList.remove("on");
  }
}

function showRules(rules) {
  const byFilter = new Map();
  for (const r of rules) {
    const key = `${r.kind === "nacl" ? "NACL" : "security group"} ${r.filter}`;
    if (!byFilter.has(key)) byFilter.set(key, []);
    byFilter.get(key).push(r);
  }
  const parts = [];
  for (const [name, list] of byFilter) {
    parts.push(el("h3", {}, name));
    parts.push(el("table", { class: "grid" },
      el("thead", {}, el("tr", {}, el("th", {}, "dir"), el("th", {}, "rule"), el("th", {}, "line"), el("th", {}, "hits"))),
      el("tbody", {}, list.map((r) => {
        const never = Number(r.hits) === 0;
        return el("tr", { class: never ? "never-hit" : null },
          el("td", {}, r.direction),
          el("td", {}, r.text ?? r.rule),
          // The implicit final rule of a NACL has no line of its own (0).
          el("td", { class: "num" }, r.line || ""),
          el("td", { class: "num" }, never ? el("span", { class: "never" }, "never hit") : r.hits));
      }))));
  }
  const none = el("p", { class: "note" }, "This lab has no security groups or NACLs.");
  $("rules").replaceChildren(...(parts.length ? parts : [none]));
  $("rules").classList.add("rules");
}

function showFlows(flows) {
  $("flows-empty").hidden = flows.length > 0;
  $("flows").replaceChildren(...flows.map((f) => el("tr", {},
    el("td", {}, f.name, el("div", { class: "note" }, f.kind)),
    el("td", {}, f.from),
    el("td", {}, f.to),
    el("td", { title: f.error || "" }, f.state, f.state === "running" ? el("div", { class: "note" }, rate(f.rate_bps)) : null),
    el("td", { class: "num" }, bytes(f.bytes)),
    el("td", { class: "num" }, f.retransmissions),
    el("td", { class: "num" }, f.rtt_ns_avg != null ? seconds(f.rtt_ns_avg) : ""))));
}

// ---- checks ---------------------------------------------------------------

async function runChecks() {
  const button = $("run");
  button.disabled = true;
  $("score").textContent = "running…";
  try {
    const report = await api(`/labs/${encodeURIComponent(state.lab)}/runs`, { method: "POST" });
    showReport(report);
  } catch (err) {
    $("score").textContent = "";
    showError($("checks"), err);
  } finally {
    button.disabled = false;
  }
}

function showReport(report) {
  $("score").textContent = `${report.passed} passed, ${report.failed} failed · ${report.score}/${report.max_score} points`;
  $("checks").replaceChildren(...(report.checks || []).map((c) => el("li", { class: c.status === "pass" ? "pass" : "fail" },
    el("div", {}, el("span", { class: "status" }, c.status), c.name),
    el("div", { class: "why" }, `expected ${c.expect}, observed ${c.observed}: ${c.explanation}`),
    c.status !== "pass" && c.hint ? el("div", { class: "hint" }, `hint: ${c.hint}`) : null)));
}

// ---- trace ----------------------------------------------------------------

function fillTraceForm(topo) {
  const hosts = (topo.nodes || []).filter((n) => n.role !== "router").map((n) => n.name);
  $("trace-form").from.replaceChildren(...hosts.map((h) => el("option", {}, h)));
}

async function trace() {
  const form = $("trace-form");
  const body = { from: form.from.value, to: form.to.value, proto: form.proto.value };
  if (form.port.value) body.port = Number(form.port.value);
  setHash("trace", [body.from, body.to, body.proto, form.port.value].join(","));
  const verdict = $("trace-verdict");
  try {
    const t = await api(`/labs/${encodeURIComponent(state.lab)}/trace`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    });
    verdict.className = `verdict ${t.outcome}`;
    verdict.textContent = `${t.outcome}: ${t.explanation}`;
    drawSequence(t);
  } catch (err) {
    verdict.className = "verdict deny";
    verdict.textContent = err.message;
    state.trace = null;
    $("sequence").replaceChildren();
  }
}

// One lifeline per node, in the order they first appear; one arrow per
// frame, sloped by its time on the wire. A dropped frame ends in a cross.
function drawSequence(t) {
  state.trace = t;
  const frames = t.frames || [];
  const names = [];
  for (const f of frames) for (const n of [f.from, f.to]) if (n && !names.includes(n)) names.push(n);
  const rowH = 34;
  const left = 80;
  const right = 80;
  const spans = Math.max(1, names.length - 1);
  const svg = $("sequence");
  // Drawn at the page's scale, so its text has the size of the page's
  // whatever the number of lifelines: they spread over the pane's width,
  // and when they do not fit at 120 px apart the diagram is wider than the
  // pane, which scrolls. In a hidden pane (no width yet) it is scaled to
  // fit, and drawn again when the Trace tab opens.
  const pane = svg.parentElement;
  const style = getComputedStyle(pane);
  const avail = pane.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const gap = avail > 0 ? Math.max(120, (avail - left - right) / spans) : 200;
  const width = left + gap * spans + right;
  const height = 60 + rowH * frames.length + 20;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.style.width = avail > 0 ? `${width}px` : "";
  svg.style.height = avail > 0 ? `${height}px` : "";
  const xOf = (n) => left + gap * names.indexOf(n);
  const parts = names.map((n) => el("g", {},
    el("text", { x: xOf(n), y: 20, "text-anchor": "middle", class: "name" }, n),
    el("line", { class: "lifeline", x1: xOf(n), y1: 28, x2: xOf(n), y2: height - 10 })));
  frames.forEach((f, i) => {
    const y = 50 + rowH * i;
    const x1 = xOf(f.from);
    const x2 = f.to ? xOf(f.to) : x1 + (gap / 2) * (names.length > 1 ? 1 : 1);
    const dir = x2 >= x1 ? 1 : -1;
    const end = f.dropped ? (x1 + x2) / 2 : x2;
    const cls = f.dropped ? "arrow dropped" : "arrow";
    parts.push(el("g", { class: "frame" },
      el("line", { class: cls, x1, y1: y, x2: end, y2: y + 8 }),
      f.dropped
        ? el("path", { class: cls, d: `M${end - 5},${y + 3} l10,10 m0,-10 l-10,10` })
        : el("path", { class: cls, d: `M${end - 7 * dir},${y + 3} L${end},${y + 8} L${end - 7 * dir},${y + 12}` }),
      el("text", { class: "frame-label", x: (x1 + end) / 2, y: y - 3, "text-anchor": "middle" },
        f.label + (f.dropped ? ` ✗ ${f.dropped}` : "")),
      el("text", { class: "frame-time", x: 4, y: y + 6 }, seconds(f.time_ns))));
  });
  svg.replaceChildren(...parts);
}

// ---- live events and the clock ------------------------------------------

function listen(id) {
  if (state.events) state.events.close();
  const source = new EventSource(`${API}/labs/${encodeURIComponent(id)}/events`);
  state.events = source;
  source.onopen = () => $("live").classList.add("on");
  source.onerror = () => $("live").classList.remove("on");
  // `#live=N` stops listening after N events, `#live=0` never starts: a
  // headless browser that waits for the network to be idle (screenshots,
  // tests) cannot wait for a stream that never ends.
  const limit = Number(hashParams().get("live") || 0);
  let seen = 0;
  const log = (kind) => (e) => {
    seen += 1;
    if (limit > 0 && seen >= limit) {
      source.close();
      $("live").classList.remove("on");
    }
    let data = {};
    try { data = JSON.parse(e.data); } catch (_) { data = { text: e.data }; }
    if (kind === "clock") {
      // The clock was paused, reset, sped up or finished, maybe by someone
      // else: show its state as it is now (the replayed history of the
      // stream is older), and list the change with the other events.
      api(`/labs/${encodeURIComponent(id)}`)
        .then((lab) => {
          if (state.lab !== id || !lab.clock) return;
          showClock(lab.clock);
          refresh(); // a reset starts the flows again: show them now
        })
        .catch(() => {});
      if (!data.message) return;
    }
    const text = data.message || data.text || JSON.stringify(data);
    const item = el("li", {}, el("span", { class: "t" }, data.time_ns !== undefined ? seconds(data.time_ns) : ""), `${kind}: ${text}`);
    const list = $("events");
    list.prepend(item);
    while (list.children.length > 500) list.lastChild.remove();
  };
  for (const kind of ["clock", "flow-started", "flow-finished", "link-down", "link-up", "link-changed",
    "rule-changed", "check-result", "run-finished", "dropped", "lab-closed", "message"]) {
    source.addEventListener(kind, log(kind));
  }
}

function showClock(c) {
  $("clock").textContent = seconds(c.time_ns);
  $("speed").textContent = c.state === "finished" ? `finished (${c.end || "quiet"})` : `speed ${c.speed}`;
  setPaused(c.state === "paused");
}

function setPaused(paused) {
  state.paused = paused;
  $("pause").textContent = paused ? "Resume" : "Pause";
}

async function clock(action, extra = {}) {
  try {
    const res = await api(`/labs/${encodeURIComponent(state.lab)}/clock`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ action, ...extra }),
    });
    showClock(res);
    await refresh();
  } catch (err) {
    $("speed").textContent = err.message;
  }
}

// ---- wiring -----------------------------------------------------------------

function selectTab(name) {
  for (const b of document.querySelectorAll("nav button")) b.setAttribute("aria-selected", String(b.dataset.tab === name));
  for (const t of document.querySelectorAll(".tab")) t.hidden = t.id !== `tab-${name}`;
  setHash("tab", name);
  if (name === "trace" && state.trace) drawSequence(state.trace);
}

// An error of the page itself is shown, not only logged to a console the
// audience cannot see.
function reportPageError(message) {
  const box = $("page-error");
  box.hidden = false;
  box.textContent = `The dashboard failed: ${message}`;
}
window.addEventListener("error", (e) => reportPageError(e.message));
window.addEventListener("unhandledrejection", (e) => reportPageError(e.reason && e.reason.message || String(e.reason)));

function main() {
  for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => selectTab(b.dataset.tab));
  // Another lab: what the address says about the last one's trace and run
  // is not about this one.
  $("lab").addEventListener("change", (e) => {
    setHash("trace", null);
    setHash("run", null);
    openLab(e.target.value);
  });
  $("run").addEventListener("click", runChecks);
  $("trace-form").addEventListener("submit", (e) => { e.preventDefault(); trace(); });
  $("pause").addEventListener("click", () => clock(state.paused ? "resume" : "pause"));
  $("step").addEventListener("click", () => clock("step", { step: "100ms" }));
  selectTab(hashParams().get("tab") || "checks");
  window.addEventListener("resize", () => { if (state.trace && !$("tab-trace").hidden) drawSequence(state.trace); });
  state.timer = setInterval(refresh, POLL_MS);
  loadLabs().catch((err) => showError($("checks"), err));
}

main();
