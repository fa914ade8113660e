/* Aftermath dashboard: plain JavaScript, no build step. The server validates and runs; this page
   edits the scenario (as a plain object with the TOML key names), draws what the server sends and
   formats it. Charts: uPlot (vendored, MIT). */
"use strict";

const $ = (id) => document.getElementById(id);
const ZONE_COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
  "#8c564b", "#7f7f7f"];
const fmt = (x) => (x === null || x === undefined) ? "–" : Number(x).toLocaleString("en", { maximumFractionDigits: 0 });

const state = {
  schema: null, defs: null, scenario: null, original: null, names: null, result: null, job: null,
  odeSeq: 0, odeBusy: false, odePending: false, draws: 0, baseline: null, variants: [], day: 0, playing: null,
  charts: {}, lastError: null, viewsWanted: null, progressSeen: [], channel: null, stream: null, streamMessages: 0, streamFailures: 0,
};
window.aftermath = state; // for the browser tests and the benchmark

// -- talking to the server ------------------------------------------------------------------------
async function api(method, url, body) {
  const opts = { method, headers: {} };
  if (body instanceof FormData) opts.body = body;
  else if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
  const r = await fetch(url, opts);
  const type = r.headers.get("content-type") || "";
  const data = type.includes("json") ? await r.json() : await r.text();
  if (!r.ok) {
    const err = new Error((data && data.error && data.error.message) || `${r.status} ${r.statusText}`);
    err.info = (data && data.error) || {};
    err.status = r.status;
    throw err;
  }
  return data;
}

// -- messages next to the field -------------------------------------------------------------------
function banner(text, ok) {
  const b = $("banner");
  b.textContent = text || "";
  b.className = text ? (ok ? "show ok" : "show") : "";
}
function clearErrors() {
  document.querySelectorAll(".err-msg").forEach((e) => e.remove());
  document.querySelectorAll("[aria-invalid=true]").forEach((e) => e.removeAttribute("aria-invalid"));
  state.lastError = null;
}
function showError(err) {
  clearErrors();
  const info = err.info || {};
  state.lastError = { message: err.message, path: info.path || "" };
  banner(err.message);
  let path = info.path || "";
  const m = /^--\w+ \(([\w.]+)\)$/.exec(path);
  if (m) path = m[1];
  while (path) {
    const els = document.querySelectorAll(`[data-path="${CSS.escape(path)}"]`);
    if (els.length) {
      els.forEach((el) => {
        el.setAttribute("aria-invalid", "true");
        const msg = document.createElement("span");
        msg.className = "err-msg";
        msg.setAttribute("role", "alert");
        msg.textContent = info.expected ? `expected ${info.expected}` : err.message;
        (el.closest(".field") || el.parentElement).appendChild(msg);
      });
      const first = els[0].closest("details");
      if (first && !first.open && !document.querySelector(`#controls > section [data-path="${CSS.escape(path)}"]`)) first.open = true;
      break;
    }
    path = path.includes(".") ? path.slice(0, path.lastIndexOf(".")) : "";
  }
}

// -- the scenario as an object ---------------------------------------------------------------------
function getPath(obj, path) {
  return path.split(".").reduce((o, k) => (o === undefined || o === null) ? undefined : o[k], obj);
}
function setPath(obj, path, value) {
  const parts = path.split(".");
  let o = obj;
  for (let i = 0; i < parts.length - 1; i++) {
    const k = parts[i];
    if (o[k] === undefined || o[k] === null) o[k] = /^\d+$/.test(parts[i + 1]) ? [] : {};
    o = o[k];
  }
  const last = parts[parts.length - 1];
  if (value === undefined) { if (Array.isArray(o)) o.splice(Number(last), 1); else delete o[last]; }
  else o[last] = value;
}
function resolve(node) {
  while (node && node.$ref) node = state.defs[node.$ref.split("/").pop()];
  return node;
}
function nonNull(prop) {
  if (prop && prop.anyOf) {
    const alts = prop.anyOf.filter((a) => a.type !== "null");
    if (alts.length === 1) return { ...resolve(alts[0]), nullable: true };
  }
  return resolve(prop);
}
function zoneName(id) { return (state.names && state.names.zones[id]) || id; }

// -- inputs bound to a path -------------------------------------------------------------------------
function fieldFor(path, prop, opts = {}) {
  const p = nonNull(prop) || {};
  const wrap = document.createElement("div");
  wrap.className = "field";
  const id = "f-" + path.replace(/[^\w-]/g, "_");
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = opts.label || path.split(".").pop();
  wrap.appendChild(label);
  const value = getPath(state.scenario, path);
  const deflt = prop.default !== undefined ? prop.default : p.default;
  let input;
  const row = document.createElement("div");
  row.className = "row";
  if (p.enum) {
    input = document.createElement("select");
    if (p.nullable) input.appendChild(new Option("(unset)", ""));
    p.enum.forEach((v) => input.appendChild(new Option(v, v)));
    input.value = value ?? (deflt ?? "");
    input.addEventListener("change", () => edit(path, input.value === "" ? undefined : input.value, opts.live));
  } else if (p.type === "boolean") {
    input = document.createElement("input");
    input.type = "checkbox";
    input.checked = Boolean(value ?? deflt);
    input.addEventListener("change", () => edit(path, input.checked, opts.live));
  } else if (p.type === "number" || p.type === "integer") {
    const lo = p.minimum ?? p.exclusiveMinimum, hi = p.maximum ?? p.exclusiveMaximum;
    const isInt = p.type === "integer";
    if (opts.slider) {
      input = document.createElement("input");
      input.type = "range";
      let [smin, smax, sstep] = opts.slider;
      const v = Number(value ?? deflt ?? 0);
      if (v > 0 && hi !== 1 && (4 * v < smax || v > smax)) {  // a range around this world's value (Munz's beta is 0.0095)
        smax = niceCeil(4 * v); sstep = smax / 400;
        if (hi !== undefined && smax > hi) smax = hi;
      }
      input.min = smin; input.max = smax; input.step = sstep;
      input.value = value ?? deflt ?? 0;
      const out = document.createElement("output");
      out.className = "val";
      out.htmlFor = id;
      out.textContent = input.value;
      input.addEventListener("input", () => { out.textContent = input.value; edit(path, Number(input.value), true); });
      row.append(input, out);
      input._out = out;
    } else {
      input = document.createElement("input");
      input.type = "number";
      if (lo !== undefined) input.min = lo;
      if (hi !== undefined && hi < 1e15) input.max = hi;
      input.step = isInt ? "1" : "any";
      input.value = value ?? "";
      input.placeholder = deflt === null || deflt === undefined ? "unset" : String(deflt);
      input.addEventListener("change", () => {
        const t = input.value.trim();
        edit(path, t === "" ? undefined : Number(t), opts.live);
      });
    }
  } else {
    input = document.createElement(p.maxLength > 200 ? "textarea" : "input");  // a description: several lines
    if (input.tagName === "INPUT") input.type = "text"; else { input.rows = 4; input.style.width = "100%"; }
    input.value = value ?? "";
    input.placeholder = deflt === null || deflt === undefined ? "" : String(deflt);
    input.addEventListener("change", () => edit(path, input.value === "" && p.nullable ? undefined : input.value, opts.live));
  }
  input.id = id;
  input.dataset.path = path;
  if (!row.children.length) row.appendChild(input);
  wrap.appendChild(row);
  const bits = [];
  if (prop["x-unit"]) bits.push(prop["x-unit"]);
  const lo = p.minimum ?? p.exclusiveMinimum, hi = p.maximum ?? p.exclusiveMaximum;
  const big = (x) => Math.abs(x) >= 1e15 ? Number(x).toExponential(2) : Number(x).toLocaleString("en");
  if (lo !== undefined || hi !== undefined) bits.push(`${lo !== undefined ? big(lo) : "…"} to ${hi !== undefined ? big(hi) : "…"}`);
  if (deflt !== undefined) bits.push(`default ${deflt === null ? "unset" : JSON.stringify(deflt)}`);
  const desc = prop.description || p.description;
  const small = document.createElement("small");
  small.textContent = (desc ? desc + (bits.length ? " · " : "") : "") + bits.join(" · ");
  if (small.textContent) wrap.appendChild(small);
  return wrap;
}

function niceCeil(x) {
  const p = Math.pow(10, Math.floor(Math.log10(x)));
  return [1, 2, 5, 10].map((m) => m * p).find((c) => c >= x) || 10 * p;
}

function syncInputs(path, value) {
  document.querySelectorAll(`[data-path="${CSS.escape(path)}"]`).forEach((el) => {
    if (el.type === "checkbox") el.checked = Boolean(value);
    else if (document.activeElement !== el || el.type === "range") el.value = value ?? "";
    if (el._out) el._out.textContent = el.value;
  });
}

function edit(path, value, live) {
  setPath(state.scenario, path, value);
  syncInputs(path, value);
  if (path === "run.engine") updateRunHint();
  if (live !== false && engine() === "ode") scheduleOde();
  else setStatus("Changed: press Run to see the result.");
}

function engine() { return (state.scenario.run && state.scenario.run.engine) || "ode"; }

// -- the levers up front and the full form ------------------------------------------------------------
function prop(modelName, key) { const m = state.defs[modelName]; return m.properties[key]; }

function buildLevers() {
  const sc = state.scenario;
  $("world-title").textContent = sc.name + (state.blurb ? ": " + state.blurb : "");
  const pat = $("levers-pathogen");
  pat.replaceChildren(
    fieldFor("pathogen.beta", prop("Pathogen", "beta"), { label: "Bite rate (beta)", slider: [0, 2, 0.01] }),
    fieldFor("pathogen.p_hybrid", prop("Pathogen", "p_hybrid"), { label: "Hybrid share (p_hybrid)", slider: [0, 1, 0.01] }),
    fieldFor("pathogen.latency", prop("Pathogen", "latency"), { label: "Latency (days)", slider: [0, 30, 0.5] }),
    fieldFor("pathogen.mutation.mu", prop("Mutation", "mu"), { label: "Mutation (mu, ABM only)", slider: [0, 0.2, 0.005] }),
  );
  const walls = $("levers-walls");
  walls.replaceChildren(...sc.zones.map((z, i) =>
    fieldFor(`zones.${i}.wall`, prop("Zone", "wall"), { label: z.name || z.id, slider: [0, 1, 0.01] })));
  const pol = $("levers-policies");
  pol.replaceChildren();
  (sc.policies || []).forEach((p, i) => {
    const box = document.createElement("div");
    box.className = "policy";
    const h = document.createElement("h3");
    const where = p.faction ? ((state.names.factions[p.faction]) || p.faction) : (p.zones || []).map(zoneName).join(", ");
    h.textContent = `${p.name || p.type + " policy " + i} (${p.type}${where ? ", " + where : ""})`;
    box.appendChild(h);
    const model = policyModel(p.type);
    const def = state.defs[model];
    if (def.properties.action) box.appendChild(fieldFor(`policies.${i}.action`, def.properties.action, { label: "action" }));
    box.appendChild(fieldFor(`policies.${i}.when`, def.properties.when, { label: "when (switches on)" }));
    box.appendChild(fieldFor(`policies.${i}.until`, def.properties.until, { label: "until (switches off)" }));
    for (const key of ["rate", "kill", "every", "sensitivity", "mode", "inbound", "hybrids"]) {
      if (def.properties[key]) box.appendChild(fieldFor(`policies.${i}.${key}`, def.properties[key], { label: key }));
    }
    pol.appendChild(box);
  });
  if (!(sc.policies || []).length) pol.textContent = "This world has no policies (add them under “Every key”).";
  const run = $("levers-run");
  run.replaceChildren(
    fieldFor("run.engine", prop("RunSettings", "engine"), { label: "Engine", live: true }),
    fieldFor("run.seed", prop("RunSettings", "seed"), { label: "Seed", live: false }),
    fieldFor("run.days", prop("RunSettings", "days"), { label: "Days" }),
  );
  updateRunHint();
}

function policyModel(type) {
  const items = state.schema.properties.policies.items;
  return items.discriminator.mapping[type].split("/").pop();
}

function buildForm() {
  const form = $("form");
  form.replaceChildren(objectForm("", state.schema, state.scenario));
}

function objectForm(path, model, value) {
  const frag = document.createDocumentFragment();
  for (const [key, p0] of Object.entries(model.properties || {})) {
    const sub = path ? `${path}.${key}` : key;
    const p = nonNull(p0);
    if (p && p.type === "object" && p.properties) {
      const fs = document.createElement("fieldset");
      const lg = document.createElement("legend");
      lg.textContent = key;
      fs.appendChild(lg);
      if (p.description || p0.description) {
        const s = document.createElement("small"); s.className = "hint"; s.textContent = p0.description || p.description; fs.appendChild(s);
      }
      fs.appendChild(objectForm(sub, p, (value || {})[key]));
      frag.appendChild(fs);
    } else if (p && p.type === "array" && (p.items && (p.items.$ref || p.items.oneOf))) {
      frag.appendChild(listForm(sub, key, p, (value || {})[key] || []));
    } else if (p && (p.type === "array" || p.type === "object")) {
      frag.appendChild(jsonField(sub, key, p0));
    } else {
      frag.appendChild(fieldFor(sub, p0, { label: key }));
    }
  }
  return frag;
}

function jsonField(path, key, prop) {
  // lists of ids and tables of numbers: edited as JSON text, validated by the server like any key
  const wrap = document.createElement("div");
  wrap.className = "field";
  const id = "f-" + path.replace(/[^\w-]/g, "_");
  const label = document.createElement("label"); label.htmlFor = id; label.textContent = key + " (JSON)";
  const input = document.createElement("input"); input.type = "text"; input.id = id; input.dataset.path = path;
  input.value = JSON.stringify(getPath(state.scenario, path) ?? prop.default ?? null);
  input.addEventListener("change", () => {
    try { edit(path, JSON.parse(input.value)); } catch (e) { showError({ message: `${path}: expected JSON (${e.message})`, info: { path } }); }
  });
  const small = document.createElement("small"); small.textContent = prop.description || "";
  wrap.append(label, input, small);
  return wrap;
}

function listForm(path, key, p, items) {
  const fs = document.createElement("fieldset");
  const lg = document.createElement("legend");
  lg.textContent = `${key} (${items.length})`;
  fs.appendChild(lg);
  items.forEach((item, i) => {
    const d = document.createElement("details");
    const s = document.createElement("summary");
    s.textContent = `${key} ${i}: ${item.name || item.id || item.type || (item.from ? item.from + " → " + item.to : "")}`;
    d.appendChild(s);
    let model = resolve(p.items);
    if (p.items.oneOf) model = state.defs[policyModel(item.type)];
    d.appendChild(objectForm(`${path}.${i}`, model, item));
    const rm = document.createElement("button");
    rm.type = "button"; rm.textContent = `Remove ${key} ${i}`;
    rm.addEventListener("click", () => { getPath(state.scenario, path).splice(i, 1); rebuild(); scheduleOde(); });
    d.appendChild(rm);
    fs.appendChild(d);
  });
  const add = document.createElement("div");
  add.className = "buttons";
  if (p.items.oneOf) {
    const sel = document.createElement("select");
    sel.setAttribute("aria-label", "policy type to add");
    Object.keys(p.items.discriminator.mapping).forEach((t) => sel.appendChild(new Option(t, t)));
    const b = document.createElement("button"); b.type = "button"; b.textContent = "Add a policy";
    b.addEventListener("click", () => {
      const type = sel.value;
      const pol = { type, zones: [state.scenario.zones[0].id] };
      if (type === "hybrids") pol.action = "protect";
      if (type === "truce") { delete pol.zones; pol.action = "make"; }
      setPath(state.scenario, path, [...items, pol]);
      rebuild();
    });
    add.append(sel, b);
    fs.appendChild(add);
  } else {
    const model = resolve(p.items);
    const b = document.createElement("button"); b.type = "button"; b.textContent = `Add to ${key}`;
    b.addEventListener("click", () => {
      const item = {};
      const zones = state.scenario.zones || [];
      if (model.properties.id) item.id = `${key.replace(/s$/, "")}${items.length + 1}`;
      if (model.properties.from && zones.length) { item.from = zones[0].id; item.to = (zones[1] || zones[0]).id; }
      setPath(state.scenario, path, [...items, item]);
      rebuild();
      if (engine() === "ode") scheduleOde();
    });
    add.appendChild(b);
    fs.appendChild(add);
  }
  return fs;
}

function rebuild() { buildLevers(); buildForm(); }

// -- charts --------------------------------------------------------------------------------------------
function chartOpts(title, series, el, bands) {
  const width = Math.max(480, el.clientWidth || 800);
  return {
    title, width, height: 300, series: [{ label: "day" }, ...series],
    axes: [{ label: "day" }, { label: "people", size: 70, values: (u, v) => v.map((x) => x >= 1e6 ? (x / 1e6) + "M" : x >= 1e3 ? (x / 1e3) + "k" : x) }],
    scales: { x: { time: false } }, legend: { live: true }, bands: bands || [],
  };
}

// The curves of the vocabulary's groups (run.vocabulary: S/I/R, S/Z/R or Aftermath's six states), at
// the run's finer samples where it has them (run.record_every), else by day
function curveData(res) {
  const c = res.curves, b = res.bands, bc = b && b.curves;
  return {
    time: c.time,
    totals: c.by_state ? res.totals : c.totals,
    zones: c.by_state ? res.counts : c.zones,
    bandTotals: b ? (bc.by_state ? b.totals : bc.totals) : null,
    bandZones: b ? (bc.by_state ? b.zones : bc.zones) : null,
  };
}

function zoneGroupOptions(res) {
  const sel = $("zone-state");
  const keys = res.groups.map((g) => g.key).join("|");
  if (sel.dataset.keys === keys) return;
  const was = sel.value;
  sel.replaceChildren(...res.groups.map((g) => new Option(g.label, g.key)));
  sel.dataset.keys = keys;
  // the ferals' group by default (Z, the SIR limit's I), as before
  sel.value = res.groups.some((g) => g.key === was) ? was : (res.groups.find((g) => g.states.includes("Z")) || res.groups[0]).key;
}

function drawCurves(res) {
  const cd = curveData(res);
  const days = cd.time;
  const b = res.bands;
  const wEl = $("chart-world");
  const series = [], data = [days], bands = [];
  const line = (g) => ({ label: g.label, stroke: g.colour, width: 2, dash: g.out ? [6, 4] : undefined });
  res.groups.forEach((g, k) => {
    series.push(line(g));
    data.push(b ? cd.bandTotals[k][1] : cd.totals[k]);
  });
  if (b) {
    res.groups.forEach((g, k) => {
      const lo = data.length; series.push({ label: `${g.key} 5%`, stroke: g.colour + "55", width: 1 }); data.push(cd.bandTotals[k][0]);
      const hi = data.length; series.push({ label: `${g.key} 95%`, stroke: g.colour + "55", width: 1 }); data.push(cd.bandTotals[k][2]);
      bands.push({ series: [hi, lo], fill: g.colour + "40" });
    });
  }
  const title = b ? `median and 5–95% of ${b.runs} ${res.engine.toUpperCase()} runs`
    : res.engine === "ode" ? "ODE (deterministic: the mean field)" : `${res.engine.toUpperCase()}, seed ${res.seed}`;
  setChart("world", wEl, title + (res.curves.fine ? `, sampled every ${(days[1] - days[0]).toLocaleString("en", { maximumFractionDigits: 3 })} day` : ""), series, data, bands);
  zoneGroupOptions(res);
  const k = Math.max(0, res.groups.findIndex((g) => g.key === $("zone-state").value));
  const zs = [], zd = [days], zb = [];
  res.zones.forEach((z, i) => {
    zs.push({ label: z.name, stroke: ZONE_COLORS[i % ZONE_COLORS.length], width: 2 });
    zd.push(b ? cd.bandZones[i][k][1] : cd.zones[i][k]);
  });
  if (b) {
    res.zones.forEach((z, i) => {
      const c = ZONE_COLORS[i % ZONE_COLORS.length];
      const lo = zd.length; zs.push({ label: `${z.name} 5%`, stroke: c + "55", width: 1 }); zd.push(cd.bandZones[i][k][0]);
      const hi = zd.length; zs.push({ label: `${z.name} 95%`, stroke: c + "55", width: 1 }); zd.push(cd.bandZones[i][k][2]);
      zb.push({ series: [hi, lo], fill: c + "40" });
    });
  }
  setChart("zones", $("chart-zones"), `${res.groups[k].label} per zone`, zs, zd, zb);
  state.draws += 1;
  document.body.dataset.draws = String(state.draws);
}

function setChart(name, el, title, series, data, bands) {
  const old = state.charts[name];
  const sig = series.map((s) => s.label).join("|") + "|" + bands.length;
  if (old && old._sig === sig) {
    old.setData(data);
    if (old.root.querySelector(".u-title")) old.root.querySelector(".u-title").textContent = title;
    return;
  }
  if (old) old.destroy();
  const u = new uPlot(chartOpts(title, series, el, bands), data, el);
  u._sig = sig;
  // the bands' edges are drawn but not listed: the legend names each curve once
  const main = series.length - 2 * bands.length;
  u.root.querySelectorAll(".u-legend .u-series").forEach((row, i) => { if (i > main) row.style.display = "none"; });
  state.charts[name] = u;
}

// -- the summary line -----------------------------------------------------------------------------------
function drawKeys(res) {
  // the run report's key numbers, in the scenario's words (run.vocabulary)
  const s = res.summary;
  const items = res.key_numbers.map(([k, label]) => [label, k === "attack_rate" ? (100 * s[k]).toFixed(1) + "%" : fmt(s[k])]);
  $("keys").replaceChildren(...items.map(([k, v]) => {
    const d = document.createElement("div"); d.className = "key";
    const b = document.createElement("b"); b.textContent = v; d.append(b, k); return d;
  }));
}

function setStatus(text) { $("status").textContent = text; }

// -- map ---------------------------------------------------------------------------------------------------
const CIVIDIS = ["#00224e", "#35456c", "#666970", "#958f78", "#cbba69", "#fee838"];
function fearColor(f) {
  // light when calm, dark when afraid: cividis read from its bright end
  const t = 1 - Math.max(0, Math.min(1, f)); const x = t * (CIVIDIS.length - 1); const i = Math.min(CIVIDIS.length - 2, Math.floor(x));
  const a = hex(CIVIDIS[i]), b = hex(CIVIDIS[i + 1]), u = x - i;
  return `rgb(${a.map((v, j) => Math.round(v + (b[j] - v) * u)).join(",")})`;
}
function hex(h) { return [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)); }
const SVG = "http://www.w3.org/2000/svg";
function el(name, attrs, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function drawMap() {
  const res = state.result;
  const svg = $("map");
  if (!res || !res.map) { svg.replaceChildren(); return; }
  const m = res.map, t = Math.min(state.day, res.days), fd = Math.min(t, res.days - 1);
  const W = 760, H = 520, PX = 140, PY = 70;
  const n = res.zones.length, crowded = n > 8;  // many zones: smaller circles, names only (details on hover)
  let pos = m.pos;
  if (crowded) {
    // the report's layout packs a dense part of a large world tightly: spread it by rank, order kept
    const rank = (k) => { const o = pos.map((p, i) => [p[k], i]).sort((a, b) => a[0] - b[0]); const r = []; o.forEach(([, i], j) => { r[i] = j / (n - 1); }); return r; };
    const rx = rank(0), ry = rank(1);
    pos = pos.map(([x, y], i) => [0.35 * x + 0.65 * rx[i], 0.35 * y + 0.65 * ry[i]]);
  }
  const xy = pos.map(([x, y]) => [PX + x * (W - 2 * PX), H - (PY + y * (H - 2 * PY))]);
  const maxPeople = Math.max(1, ...m.people.map((a) => Math.max(...a)));
  const rmax = crowded ? Math.max(10, 42 * Math.sqrt(8 / n)) : 42;
  const rad = m.people.map((a) => (crowded ? 4 : 8) + rmax * Math.sqrt(a[t] / maxPeople));
  const maxTraffic = Math.max(1, ...m.routes.map((r) => Math.max(0, ...r.traffic)));
  const kids = [el("defs", {})];
  const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "6", markerHeight: "6", orient: "auto-start-reverse" });
  marker.appendChild(el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#555" }));
  kids[0].appendChild(marker);
  m.routes.forEach((r) => {
    const [x1, y1] = xy[r.from], [x2, y2] = xy[r.to];
    const dx = x2 - x1, dy = y2 - y1, len = Math.hypot(dx, dy) || 1;
    const ux = dx / len, uy = dy / len;
    const sx = x1 + ux * (rad[r.from] + 4), sy = y1 + uy * (rad[r.from] + 4);
    const ex = x2 - ux * (rad[r.to] + 6), ey = y2 - uy * (rad[r.to] + 6);
    const cx = (sx + ex) / 2 - uy * 0.12 * len, cy = (sy + ey) / 2 + ux * 0.12 * len;
    const open = res.days ? r.open[fd] === "1" : true;
    const w = open ? 0.8 + 5 * Math.sqrt((r.traffic[fd] || 0) / maxTraffic) : 1;
    kids.push(el("path", { d: `M${sx},${sy} Q${cx},${cy} ${ex},${ey}`, fill: "none", stroke: open ? "#555" : "#aaa",
      "stroke-width": w.toFixed(2), "stroke-dasharray": open ? "" : "5 4", "marker-end": "url(#arrow)" }));
  });
  res.zones.forEach((z, i) => {
    const [x, y] = xy[i];
    const sealed = res.days && m.sealed[i][fd] === "1";
    if (sealed) kids.push(el("circle", { cx: x, cy: y, r: rad[i] + 9, fill: "none", stroke: "#CC79A7", "stroke-width": 2.5, "stroke-dasharray": "2 4" }));
    const c = el("circle", { cx: x, cy: y, r: rad[i], fill: fearColor(m.fear[i][t]), stroke: "#111", "stroke-width": (0.8 + 7 * m.wall[i]).toFixed(2) });
    c.appendChild(el("title", {}, `${z.name}: ${fmt(m.people[i][t])} people, ${fmt(m.ferals[i][t])} ferals, fear ${m.fear[i][t].toFixed(2)}, wall ${m.wall[i]}${sealed ? ", sealed" : ""}`));
    kids.push(c);
    kids.push(el("text", { x, y: y - rad[i] - (crowded ? 4 : 8), "text-anchor": "middle", "font-weight": "bold",
      "font-size": crowded ? 11 : 13 }, z.name));
    if (crowded) return;
    const sub = `${fmt(m.people[i][t])} people · ${fmt(m.ferals[i][t])} ferals`;
    kids.push(el("text", { x, y: y + rad[i] + 18, "text-anchor": "middle", fill: "#333" }, sub));
    if (m.zone_faction[i]) kids.push(el("text", { x, y: y + rad[i] + 34, "text-anchor": "middle", fill: "#666", "font-style": "italic" }, m.zone_faction[i]));
  });
  kids.push(el("text", { x: 12, y: 24, "font-weight": "bold" }, `day ${t}`));
  svg.replaceChildren(...kids);
  $("day-out").textContent = String(t);
  const tr = m.truces.map((p) => `${p.a} – ${p.b}: ${p.on[Math.min(t, p.on.length - 1)] === "1" ? "truce" : "no truce"}`);
  $("truces").textContent = tr.length ? "Truces: " + tr.join("; ") : "";
}

function setDay(d) {
  const res = state.result; if (!res) return;
  state.day = Math.max(0, Math.min(res.days, d));
  $("day").value = String(state.day);
  $("day-out").textContent = String(state.day);  // the slider's own label, also before the map's data has come
  drawMap();
}

function togglePlay() {
  if (state.playing) { clearInterval(state.playing); state.playing = null; $("play").textContent = "▶ Play"; $("play").setAttribute("aria-label", "play"); return; }
  const res = state.result; if (!res) return;
  if (state.day >= res.days) setDay(0);
  const step = Math.max(1, Math.round(res.days / 150));
  $("play").textContent = "⏸ Pause"; $("play").setAttribute("aria-label", "pause");
  state.playing = setInterval(() => {
    if (state.day >= res.days) { togglePlay(); return; }
    setDay(state.day + step);
  }, 60);
}

// -- chronicle, costs, record ------------------------------------------------------------------------------
function drawChronicle(res) {
  const ol = $("chronicle");
  const evs = res.chronicle || [];
  ol.replaceChildren(...evs.slice(0, 500).map((e) => {
    const li = document.createElement("li");
    const b = document.createElement("button"); b.type = "button";
    const d = document.createElement("span"); d.className = "d"; d.textContent = `day ${e.day}`;
    b.append(d, `${e.zone && !e.text.includes(e.zone) ? e.zone + ": " : ""}${e.text}`);  // the zone once
    b.addEventListener("click", () => { setDay(e.day); selectTab("map"); });
    li.appendChild(b); return li;
  }));
  if (!evs.length) ol.textContent = "Nothing of note happened.";
  const tl = $("timeline");
  const kids = [el("line", { x1: 10, x2: 990, y1: 40, y2: 40, stroke: "#999" })];
  evs.forEach((e) => {
    const x = 10 + 980 * e.day / Math.max(1, res.days);
    kids.push(el("line", { x1: x, x2: x, y1: 28, y2: 52, stroke: "#0072B2", "stroke-width": 2, opacity: 0.6 }));
  });
  [0, res.days].forEach((d, i) => kids.push(el("text", { x: i ? 990 : 10, y: 20, "text-anchor": i ? "end" : "start", "font-size": 12 }, `day ${d}`)));
  tl.replaceChildren(...kids);
}

function table(id, head, rows) {
  const t = $(id);
  const thead = document.createElement("tr");
  head.forEach((h) => { const th = document.createElement("th"); th.textContent = h; thead.appendChild(th); });
  const trs = rows.map((r) => {
    const tr = document.createElement("tr");
    r.forEach((c) => {
      const td = document.createElement("td");
      if (c instanceof Node) td.appendChild(c); else td.textContent = c;
      if (typeof c === "string" && !/^[\d,.\s–%[\]-]+$/.test(c)) td.style.textAlign = "left";  // words left, numbers right
      tr.appendChild(td);
    });
    return tr;
  });
  t.replaceChildren(thead, ...trs);
}

function bar(value, max, out) {
  const s = document.createElement("span");
  const wrap = document.createElement("span");
  wrap.textContent = fmt(value);
  s.className = "bar" + (out ? " out" : "");
  s.style.width = `${Math.round(120 * (value / Math.max(1, max)))}px`;
  wrap.appendChild(s);
  return wrap;
}

function drawLedger(res) {
  const s = res.summary;
  // "of which" rows are indented by their leading spaces (kept: white-space in style.css)
  table("costs", ["cost", "people"], res.costs.map((c) => [c.label, fmt(s[c.key])]));
  const led = Object.entries(res.ledger || {});
  if (led.length) table("ledger", ["ledger flag", "people"], led.map(([k, v]) => [k.replace(/_/g, " "), fmt(v)]));
  else table("ledger", ["The ledger is kept by the agent-based engine (engine abm)."], []);
  const off = res.official_record || [];
  const max = Math.max(1, ...off.map((r) => r.true));
  if (off.length) table("official", ["faction", "measure", "true", "official", "left out", "who"],
    off.map((r) => [r.faction_name, r.measure, bar(r.true, max), bar(r.official, max), bar(r.left_out, max, true), r.who]));
  else table("official", ["No faction keeps a record in this world."], []);
  const acted = res.policies || [];
  table("acted", ["faction", "policy", "first day acted", "days acted", "where"],
    acted.map((p) => [p.faction || "–", p.policy, p.first_day_acted ?? "never", p.days_acted, (p.zones || []).map(zoneName).join(", ") || "–"]));
}

function drawVirus() {
  const res = state.result; const box = $("phylogeny");
  if (!res) { box.replaceChildren(); return; }
  if (box.dataset.rid === res.id) return;
  box.dataset.rid = res.id;
  const img = document.createElement("img");
  img.alt = "the virus's phylogeny: strains and their descent";
  img.src = `/api/results/${res.id}/phylogeny.svg`;
  box.replaceChildren(img);
}

// -- a new result ------------------------------------------------------------------------------------------------
function showResult(res) {
  state.result = res;
  drawCurves(res);
  drawKeys(res);
  $("day").max = String(res.days);
  if (state.day > res.days) state.day = res.days;
  // the other views after the charts are painted (a lever's re-run shows its curves first)
  requestAnimationFrame(() => setTimeout(() => {
    if (state.result !== res) return;  // a newer run came meanwhile: it draws them
    if (res.light) { loadViews(res); return; }
    drawViews(res);
  }, 0));
  for (const [id, what] of [["dl-html", "report.html"], ["dl-csv", "counts.csv"], ["dl-parquet", "counts.parquet"]]) {
    const a = $(id); a.href = `/api/results/${res.id}/download/${what}`; a.classList.remove("disabled"); a.removeAttribute("aria-disabled");
  }
  const t = res.timings ? ` in ${(res.timings.run_s + res.timings.init_s).toFixed(2)} s` : "";
  const seeds = res.bands ? `${res.bands.runs} runs, seeds derived from run.seed ${state.scenario.run.seed}`
    : res.engine === "ode" ? "deterministic" : `seed ${res.seed}`;
  setStatus(`${res.scenario}: ${res.engine.toUpperCase()}, ${res.days} days, ${seeds}${t}.` +
    (res.bands ? " The numbers below are the first run's; the curves show all runs." : ""));
}

function drawViews(res) {
  drawMap();
  drawChronicle(res);
  drawLedger(res);
  if (!$("view-virus").hidden) drawVirus();
}

// A lever's ODE answer is light (curves and summary): the other views follow, once the lever rests
// (while another run is under way they wait for its answer, which asks for its own)
async function loadViews(res) {
  if (state.odeBusy) { state.viewsWanted = res; return; }
  state.viewsWanted = null;
  let views;
  try { views = await api("GET", `/api/results/${res.id}/views`); } catch (e) { showError(e); return; }
  Object.assign(res, views);
  delete res.light;
  if (state.result === res) drawViews(res);
}

function settings() {
  const people = $("people").value.trim();
  return { scenario: state.scenario, people: people ? Number(people) : null, runs: Number($("runs").value || 1) };
}

// ODE as the levers move: one request at a time, the latest settings win
let odeTimer = null;
function scheduleOde() {
  clearTimeout(odeTimer);
  odeTimer = setTimeout(runOde, 0);  // drags coalesce anyway: one run at a time, the latest settings next
}
async function runOde() {
  if (state.odeBusy) { state.odePending = true; return; }
  state.odeBusy = true; state.odePending = false;
  const seq = ++state.odeSeq;
  try {
    const s = settings(); s.runs = 1; s.light = true;
    const res = await api("POST", "/api/ode", s);
    res.light = true;
    clearErrors(); banner("");
    if (seq === state.odeSeq) showResult(res);
  } catch (e) { showError(e); }
  finally {
    state.odeBusy = false;
    if (state.odePending) runOde();
    else if (state.viewsWanted && state.viewsWanted === state.result) loadViews(state.result);
  }
}

async function run() {
  if (engine() === "ode" && Number($("runs").value || 1) <= 1) { await runOde(); return; }
  try {
    const job = await api("POST", "/api/jobs", settings());
    clearErrors(); banner("");
    follow(job, (result) => showResult(result));
  } catch (e) { showError(e); }
}

// A background job's progress: pushed by the server (Server-Sent Events, /api/jobs/{id}/events);
// polled (GET /api/jobs/{id}, five times a second) only where the stream cannot be had or fails.
function follow(job, done) {
  state.job = job;
  $("cancel").disabled = false; $("run").disabled = true; $("compare").disabled = true;
  $("progress-box").hidden = false;
  let over = false;
  const show = (v, via) => {
    $("progress").value = v.done / v.total;
    const part = v.kind === "compare" ? `runs ${v.done} of ${v.total}`
      : v.runs > 1 ? `run ${Math.min(v.runs_done + 1, v.runs)} of ${v.runs}, day ${v.day} of ${v.days}`
      : `days ${v.done} of ${v.total}`;
    $("progress-text").textContent = `${part} (${v.status})`;
    document.body.dataset.progress = String(v.done);
    state.progressSeen.push({ id: v.id, done: v.done, total: v.total, status: v.status, t: performance.now(), via });
  };
  const end = (v) => {
    if (over) return;
    over = true; state.stream = null;
    finish();
    if (v.status === "done") done(v.result);
    else if (v.status === "failed") showError({ message: v.error.message, info: v.error });
    else setStatus("Cancelled.");
  };
  const poll = async () => {
    if (over) return;
    let v;
    try { v = await api("GET", `/api/jobs/${job.id}`); } catch (e) { over = true; showError(e); finish(); return; }
    show(v, "poll");
    if (v.status === "running") { setTimeout(poll, 200); return; }
    end(v);
  };
  const finish = () => { state.job = null; $("cancel").disabled = true; $("run").disabled = false; $("compare").disabled = false; };
  if (!window.EventSource) { state.channel = "poll"; setTimeout(poll, 100); return; }
  const es = new EventSource(`/api/jobs/${job.id}/events`);
  state.stream = es; state.channel = "stream";
  es.addEventListener("progress", (m) => { state.streamMessages++; show(JSON.parse(m.data), "stream"); });
  es.addEventListener("end", (m) => {
    state.streamMessages++; es.close();
    const v = JSON.parse(m.data);
    show(v, "stream"); end(v);
  });
  es.onerror = () => {  // the stream broke before its end (EventSource would retry): poll instead
    es.close();
    if (over) return;
    state.channel = "poll"; state.streamFailures++;
    setTimeout(poll, 0);
  };
}

async function cancel() {
  if (state.job) await api("DELETE", `/api/jobs/${state.job.id}`);
}

function updateRunHint() {
  const e = engine();
  $("run-hint").textContent = e === "ode"
    ? "The ODE re-runs as you move a lever (Run draws bands when runs > 1: use ssa or abm for those)."
    : `The ${e.toUpperCase()} runs in the background when you press Run; you can cancel it.`;
}

// -- compare -------------------------------------------------------------------------------------------------
const clone = (o) => JSON.parse(JSON.stringify(o));
function drawVariants() {
  $("baseline-line").textContent = state.baseline ? `Baseline: ${state.baseline.name}${state.baselineEdited ? " (as edited)" : ""}.` : "";
  $("variants").replaceChildren(...state.variants.map((v, i) => {
    const li = document.createElement("li");
    li.append(`${v.label} `);
    const rm = document.createElement("button"); rm.type = "button"; rm.textContent = `Remove ${v.label}`;
    rm.addEventListener("click", () => { state.variants.splice(i, 1); drawVariants(); });
    li.appendChild(rm); return li;
  }));
}
async function compare() {
  if (!state.variants.length) { showError({ message: "Add at least one variant to compare with the baseline.", info: {} }); return; }
  const people = $("people").value.trim();
  const body = { scenario: state.baseline, variants: state.variants, runs: Number($("cmp-runs").value || 5),
    engine: $("cmp-engine").value, people: people ? Number(people) : null };
  try {
    const job = await api("POST", "/api/compare", body);
    clearErrors(); banner("");
    follow(job, drawComparison);
  } catch (e) { showError(e); }
}
function drawComparison(c) {
  const variants = c.variants;
  const cell = {}; const metrics = [];
  c.rows.forEach((r) => {
    if (!metrics.includes(r.metric)) metrics.push(r.metric);
    cell[r.variant + "|" + r.metric] = `${fmt(r.mean)} [${fmt(r.lo)}, ${fmt(r.hi)}]`;
    if (!cell["label|" + r.metric]) cell["label|" + r.metric] = r.label;
  });
  table("comparison", [`${c.runs} replicates, ${c.engine}: mean [90% interval]`, ...variants],
    metrics.map((m) => [cell["label|" + m], ...variants.map((v) => cell[v + "|" + m] || "–")]));
  setStatus(`Compared ${variants.length - 1} variant(s) with the baseline, ${c.runs} replicates each on the same seeds.`);
  document.body.dataset.compared = String(Date.now());
}

// -- take it away ---------------------------------------------------------------------------------------------
async function downloadToml() {
  try {
    const r = await fetch("/api/toml", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(settings()) });
    if (!r.ok) { const d = await r.json(); const e = new Error(d.error.message); e.info = d.error; throw e; }
    const blob = await r.blob();
    const cd = r.headers.get("content-disposition") || "";
    const name = (/filename="([^"]+)"/.exec(cd) || [null, "scenario.toml"])[1];
    const a = document.createElement("a"); a.href = URL.createObjectURL(blob); a.download = name;
    document.body.appendChild(a); a.click(); a.remove();
  } catch (e) { showError(e); }
}

async function b64compress(text) {
  const s = new Blob([text]).stream().pipeThrough(new CompressionStream("deflate-raw"));
  const buf = new Uint8Array(await new Response(s).arrayBuffer());
  let bin = ""; buf.forEach((b) => { bin += String.fromCharCode(b); });
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
async function b64decompress(text) {
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const buf = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  const s = new Blob([buf]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return await new Response(s).text();
}
async function share() {
  const view = document.querySelector("[role=tab][aria-selected=true]").id.replace("tab-", "");
  const payload = { ...settings(), view, day: state.day };
  const url = `${location.origin}${location.pathname}#v=${await b64compress(JSON.stringify(payload))}`;
  history.replaceState(null, "", url);
  $("share-box").hidden = false; $("share-url").value = url; $("share-url").select();
  try { await navigator.clipboard.writeText(url); banner("Link copied: it holds the scenario and the settings.", true); } catch (_e) { /* no clipboard: the link is shown */ }
}

// -- loading a world -------------------------------------------------------------------------------------------
async function loadReply(reply, label, people = null) {
  clearErrors(); banner("");
  // a new world starts as written: its own people (as its own engine), unless a link says otherwise
  $("people").value = people ? String(people) : "";
  $("people").placeholder = `${fmt(reply.people)} as written`;
  // the last run's progress belongs to the last world
  $("progress-box").hidden = true; $("progress-text").textContent = ""; $("progress").value = 0;
  state.scenario = reply.scenario; state.names = reply.names; state.blurb = reply.blurb; state.original = clone(reply.scenario);
  state.baseline = clone(reply.scenario); state.baselineEdited = false; state.variants = [];
  rebuild(); drawVariants();
  if (label) setStatus(`Loaded ${label}.`);
  if (engine() === "ode") await runOde(); else setStatus(`Loaded ${label || reply.scenario.name}: press Run (${engine()}).`);
}
async function loadBuiltin(name) {
  try { await loadReply(await api("GET", `/api/scenarios/${encodeURIComponent(name)}`), name); } catch (e) { showError(e); }
}
async function upload(file) {
  const fd = new FormData(); fd.append("file", file);
  try { await loadReply(await api("POST", "/api/upload", fd), file.name); $("builtin").value = ""; } catch (e) { showError(e); }
}

function selectTab(name) {
  document.querySelectorAll("[role=tab]").forEach((t) => {
    const on = t.id === `tab-${name}`;
    t.setAttribute("aria-selected", String(on)); t.tabIndex = on ? 0 : -1;
    $(t.getAttribute("aria-controls")).hidden = !on;
  });
  if (name === "virus") drawVirus();
  if (name === "curves" && state.result) { Object.values(state.charts).forEach((u) => u.setSize({ width: Math.max(480, $("chart-world").clientWidth || 800), height: 300 })); }
}

async function init() {
  const [schema, list] = await Promise.all([api("GET", "/api/schema"), api("GET", "/api/scenarios")]);
  state.schema = schema.schema; state.defs = schema.schema.$defs;
  $("cond-vars").textContent = Object.keys(schema.condition_variables).join(", ");
  const sel = $("builtin");
  sel.appendChild(new Option("(a file)", ""));
  list.forEach((s) => sel.appendChild(new Option(`${s.name}: ${s.title} (${fmt(s.people)} people)`, s.name)));
  $("zone-state").addEventListener("change", () => state.result && drawCurves(state.result));
  sel.addEventListener("change", () => sel.value && loadBuiltin(sel.value));
  $("upload").addEventListener("change", (e) => { const f = e.target.files[0]; if (f) upload(f); e.target.value = ""; });
  $("paste-open").addEventListener("click", () => { const b = $("paste-box"); b.hidden = !b.hidden; $("paste-open").setAttribute("aria-expanded", String(!b.hidden)); if (!b.hidden) $("paste-text").focus(); });
  $("paste-load").addEventListener("click", async () => {
    try { await loadReply(await api("POST", "/api/parse", { text: $("paste-text").value, name: "pasted scenario" }), "the pasted scenario"); $("builtin").value = ""; } catch (e) { showError(e); }
  });
  $("run").addEventListener("click", run);
  $("cancel").addEventListener("click", cancel);
  $("people").addEventListener("change", () => engine() === "ode" && scheduleOde());
  $("day").addEventListener("input", () => setDay(Number($("day").value)));
  $("play").addEventListener("click", togglePlay);
  $("dl-toml").addEventListener("click", downloadToml);
  $("share").addEventListener("click", share);
  $("set-baseline").addEventListener("click", () => { state.baseline = clone(state.scenario); state.baselineEdited = true; drawVariants(); });
  $("add-variant").addEventListener("click", () => {
    const label = $("variant-label").value.trim() || `variant ${state.variants.length + 1}`;
    state.variants = state.variants.filter((v) => v.label !== label);
    state.variants.push({ label, scenario: clone(state.scenario) });
    $("variant-label").value = `variant ${state.variants.length + 1}`;
    drawVariants();
  });
  $("compare").addEventListener("click", compare);
  const tabs = [...document.querySelectorAll("[role=tab]")];
  tabs.forEach((t, i) => {
    t.addEventListener("click", () => selectTab(t.id.replace("tab-", "")));
    t.addEventListener("keydown", (e) => {
      const j = e.key === "ArrowRight" ? (i + 1) % tabs.length : e.key === "ArrowLeft" ? (i - 1 + tabs.length) % tabs.length : -1;
      if (j >= 0) { e.preventDefault(); tabs[j].focus(); selectTab(tabs[j].id.replace("tab-", "")); }
    });
  });
  const m = /#v=([\w-]+)/.exec(location.hash);
  if (m) {
    try {
      const p = JSON.parse(await b64decompress(m[1]));
      const reply = await api("POST", "/api/validate", { scenario: p.scenario, people: p.people ?? null, runs: 1 });
      if (p.runs) $("runs").value = String(p.runs);
      sel.value = "";
      await loadReply(reply, "the linked view", p.people);
      if (engine() !== "ode") await run();
      if (p.view) selectTab(p.view);
      if (p.day) setDay(p.day);
    } catch (e) { showError(e); await loadBuiltin("hyosan"); sel.value = "hyosan"; }
  } else {
    sel.value = list.length ? list[0].name : "";
    await loadBuiltin(sel.value);
  }
  document.body.dataset.ready = "1";
}

init().catch((e) => banner(`The dashboard could not start: ${e.message}`));
