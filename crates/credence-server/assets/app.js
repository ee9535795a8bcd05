// Credence's pages: a subject's own file and the operator dashboard.
// No framework and no build step: plain DOM and hand-drawn SVG, so the
// binary serves everything and nothing is fetched from another host.
"use strict";

const BANDS = [
  { name: "poor", label: "Poor", from: 350, to: 549 },
  { name: "fair", label: "Fair", from: 550, to: 599 },
  { name: "good", label: "Good", from: 600, to: 649 },
  { name: "very_good", label: "Very good", from: 650, to: 699 },
  { name: "excellent", label: "Excellent", from: 700, to: 950 },
];
const DIMENSIONS = ["history", "capacity", "behaviour", "identity", "fulfilment"];
const SVG = "http://www.w3.org/2000/svg";
// SVG attributes take plain colours (the style sheet's variables, spelled out).
const COLOUR = { poor: "#b3261e", fair: "#b85c00", good: "#8a6d00", very_good: "#2e7d32", excellent: "#0b6e4f", line: "#c3c9d1", accent: "#0b5cad" };

let credential = null;

// ---- small helpers ----

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children.flat()) if (child) node.append(child);
  return node;
}

function card(title, ...content) {
  const id = "h-" + title.toLowerCase().replace(/[^a-z]+/g, "-");
  return el("section", { class: "card", "aria-labelledby": id }, el("h2", { id, text: title }), ...content);
}

function bandOf(score) {
  return BANDS.find((b) => score >= b.from && score <= b.to) || BANDS[0];
}

function day(text) {
  return text ? String(text).slice(0, 10) : "–";
}

function toast(message) {
  const t = document.getElementById("toast");
  t.textContent = message;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), 5000);
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: Object.assign(
      { Authorization: "Bearer " + credential },
      body === undefined ? {} : { "Content-Type": "application/json" },
    ),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.message || "HTTP " + response.status);
    error.code = data.code;
    throw error;
  }
  return data;
}

async function act(label, work) {
  try {
    await work();
    await render();
    toast(label);
  } catch (error) {
    toast("Could not do that: " + error.message);
  }
}

// ---- charts ----

function polar(cx, cy, r, degrees) {
  const rad = ((degrees - 90) * Math.PI) / 180;
  return [cx + r * Math.cos(rad), cy + r * Math.sin(rad)];
}

function arc(cx, cy, r, from, to) {
  const [x1, y1] = polar(cx, cy, r, from);
  const [x2, y2] = polar(cx, cy, r, to);
  const large = to - from > 180 ? 1 : 0;
  return `M ${x1} ${y1} A ${r} ${r} 0 ${large} 1 ${x2} ${y2}`;
}

function dial(score, band) {
  const start = -120, sweep = 240;
  const angle = (s) => start + ((s - 350) / 600) * sweep;
  const label = score === null
    ? "No score yet: not enough data. This is not a low score."
    : `Score ${score} of 350 to 950, band ${band}.`;
  const root = svg("svg", { viewBox: "0 0 200 150", class: "dial", role: "img", "aria-label": label });
  for (const b of BANDS) {
    root.append(svg("path", { d: arc(100, 100, 80, angle(b.from), angle(Math.min(b.to + 1, 950))), stroke: COLOUR[b.name], "stroke-width": 14, fill: "none", opacity: 0.35 }));
  }
  if (score !== null) {
    root.append(svg("path", { d: arc(100, 100, 80, start, angle(score)), stroke: COLOUR[bandOf(score).name], "stroke-width": 14, fill: "none", "stroke-linecap": "round" }));
    const [x, y] = polar(100, 100, 80, angle(score));
    root.append(svg("circle", { cx: x, cy: y, r: 8, fill: "#fff", stroke: "#12263f", "stroke-width": 3 }));
  }
  const big = svg("text", { x: 100, y: 100, "text-anchor": "middle", "font-size": 34, "font-weight": 700, fill: "currentColor" });
  big.textContent = score === null ? "—" : String(score);
  const small = svg("text", { x: 100, y: 122, "text-anchor": "middle", "font-size": 13, fill: "currentColor" });
  small.textContent = score === null ? "Not enough data" : band;
  const ends = [["350", -120], ["950", 120]].map(([t, a]) => {
    const [x, y] = polar(100, 100, 98, a);
    const n = svg("text", { x, y: y + 14, "text-anchor": "middle", "font-size": 10, fill: "currentColor" });
    n.textContent = t;
    return n;
  });
  root.append(big, small, ...ends);
  return root;
}

function radar(dimensions) {
  const cx = 170, cy = 150, r = 100;
  const values = DIMENSIONS.map((d) => dimensions[d]);
  const label = "Five dimensions, 0 to 100: " + DIMENSIONS.map((d, i) => `${d} ${values[i] === null ? "no data" : values[i]}`).join(", ") + ".";
  const root = svg("svg", { viewBox: "0 0 340 300", class: "radar", role: "img", "aria-label": label });
  const point = (i, v) => polar(cx, cy, (r * v) / 100, (360 / 5) * i);
  for (const level of [25, 50, 75, 100]) {
    root.append(svg("polygon", { points: DIMENSIONS.map((_, i) => point(i, level).join(",")).join(" "), fill: "none", stroke: COLOUR.line }));
  }
  DIMENSIONS.forEach((d, i) => {
    const [x, y] = point(i, 100);
    root.append(svg("line", { x1: cx, y1: cy, x2: x, y2: y, stroke: COLOUR.line }));
    const [lx, ly] = point(i, 124);
    const text = svg("text", { x: lx, y: ly + 4, "text-anchor": "middle", "font-size": 12, fill: "currentColor" });
    text.textContent = `${d[0].toUpperCase()}${d.slice(1)} ${values[i] === null ? "–" : values[i]}`;
    root.append(text);
  });
  // Only what is known is drawn: a dimension with no data is a dashed
  // axis, never a point at the centre that would read as 0.
  const known = values.map((v, i) => [v, i]).filter(([v]) => v !== null);
  DIMENSIONS.forEach((_, i) => {
    if (values[i] !== null) return;
    const [x, y] = point(i, 100);
    root.append(svg("line", { x1: cx, y1: cy, x2: x, y2: y, stroke: COLOUR.accent, "stroke-dasharray": "4 4" }));
  });
  if (known.length >= 3) {
    root.append(svg("polygon", { points: known.map(([v, i]) => point(i, v).join(",")).join(" "), fill: "rgba(11,92,173,0.25)", stroke: COLOUR.accent, "stroke-width": 2 }));
  } else if (known.length === 2) {
    const [a, b] = known.map(([v, i]) => point(i, v));
    root.append(svg("line", { x1: a[0], y1: a[1], x2: b[0], y2: b[1], stroke: COLOUR.accent, "stroke-width": 2 }));
  }
  for (const [v, i] of known) {
    const [x, y] = point(i, v);
    root.append(svg("circle", { cx: x, cy: y, r: 4, fill: COLOUR.accent }));
  }
  return root;
}

function lineChart(points, label) {
  const w = 480, h = 180, pad = 34;
  const root = svg("svg", { viewBox: `0 0 ${w} ${h}`, class: "chart", role: "img", "aria-label": label });
  if (points.length === 0) return root;
  const xs = points.map((p) => p[0]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs) || x0 + 1;
  const ys = points.map((p) => p[1]);
  const y0 = Math.max(350, Math.min(...ys) - 30), y1 = Math.min(950, Math.max(...ys) + 30);
  const X = (x) => pad + ((x - x0) / Math.max(1, x1 - x0)) * (w - 2 * pad);
  const Y = (y) => h - pad + ((y0 - y) / Math.max(1, y1 - y0)) * (h - 2 * pad);
  for (const tick of [y0, Math.round((y0 + y1) / 2), y1]) {
    root.append(svg("line", { x1: pad, x2: w - pad, y1: Y(tick), y2: Y(tick), stroke: COLOUR.line }));
    const t = svg("text", { x: 2, y: Y(tick) + 4, "font-size": 11, fill: "currentColor" });
    t.textContent = Math.round(tick);
    root.append(t);
  }
  root.append(svg("polyline", { points: points.map((p) => `${X(p[0])},${Y(p[1])}`).join(" "), fill: "none", stroke: COLOUR.accent, "stroke-width": 2.5 }));
  for (const p of points) root.append(svg("circle", { cx: X(p[0]), cy: Y(p[1]), r: 3.5, fill: COLOUR.accent }));
  return root;
}

function bars(buckets, label) {
  const w = 520, h = 200, pad = 30;
  const root = svg("svg", { viewBox: `0 0 ${w} ${h}`, class: "chart", role: "img", "aria-label": label });
  const max = Math.max(1, ...buckets.map((b) => b[1]));
  const width = (w - 2 * pad) / 60;
  for (const [start, count] of buckets) {
    const x = pad + ((start - 350) / 10) * width;
    const bh = (count / max) * (h - 2 * pad);
    root.append(svg("rect", { x, y: h - pad - bh, width: Math.max(1, width - 1), height: bh, fill: COLOUR[bandOf(start).name] }));
  }
  for (const tick of [350, 550, 600, 650, 700, 950]) {
    const t = svg("text", { x: pad + ((tick - 350) / 10) * width, y: h - 10, "font-size": 10, "text-anchor": "middle", fill: "currentColor" });
    t.textContent = tick;
    root.append(t);
  }
  return root;
}

function roc(points, label) {
  const s = 200, pad = 24;
  const root = svg("svg", { viewBox: `0 0 ${s + pad} ${s + pad}`, class: "chart", role: "img", "aria-label": label, class: "chart roc" });
  root.append(svg("rect", { x: pad, y: 0, width: s, height: s, fill: "none", stroke: COLOUR.line }));
  root.append(svg("line", { x1: pad, y1: s, x2: pad + s, y2: 0, stroke: COLOUR.line, "stroke-dasharray": "4" }));
  root.append(svg("polyline", { points: points.map(([fpr, tpr]) => `${pad + fpr * s},${s - tpr * s}`).join(" "), fill: "none", stroke: COLOUR.accent, "stroke-width": 2 }));
  return root;
}

// ---- the subject's page ----

async function subjectPage(view) {
  const [me, history, perks, consents, partners, access, disputes, reviews, notices] = await Promise.all([
    api("GET", "/v1/me"),
    api("GET", "/v1/me/history"),
    api("GET", "/v1/me/perks"),
    api("GET", "/v1/me/consents"),
    api("GET", "/v1/partners"),
    api("GET", "/v1/me/access-log?limit=100"),
    api("GET", "/v1/me/disputes"),
    api("GET", "/v1/me/reviews"),
    api("GET", "/v1/me/notices"),
  ]);
  const report = me.report;
  document.getElementById("who").textContent = `Your file: ${me.subject_id}`;
  const band = report.band ? BANDS.find((b) => b.name === report.band).label : null;
  const excluded = new Set(me.excluded_under_dispute.map((d) => d.furnisher_id + "/" + d.event_id));

  view.append(card("Your score",
    dial(report.score, band),
    report.score === null
      ? el("p", { class: "note", text: "Not enough data to score you yet. That is not a low score: " + report.missing.join("; ") + "." })
      : el("p", {}, el("span", { class: "band", text: band }), ` · model ${report.model_version} · as of ${day(report.as_of)}`),
    me.frozen ? el("p", { class: "note", text: "Your file is frozen: no partner gets an answer until you lift the freeze." }) : null,
    excluded.size ? el("p", { class: "note", text: excluded.size === 1 ? "1 record under dispute is left out of this score." : `${excluded.size} records under dispute are left out of this score.` }) : null,
  ));

  view.append(card("Five dimensions",
    radar(report.dimensions),
    el("ul", { class: "plain" }, DIMENSIONS.map((d) => el("li", {}, el("strong", { text: d[0].toUpperCase() + d.slice(1) }), ` ${report.dimensions[d] ?? "no data"}`, el("br"), el("span", { class: "muted", text: `Measures: ${me.dimension_meanings[d]}` })))),
    el("p", { class: "note", text: "Friends, contacts and connections are never part of your score. It uses only your own records." }),
  ));

  const scored = history.filter((h) => h.status === "scored" && h.score !== null).map((h) => [Date.parse(h.as_of), h.score]);
  view.append(card("Score history",
    scored.length ? lineChart(scored, "Score history: " + scored.map((p) => `${day(new Date(p[0]).toISOString())} ${p[1]}`).join(", ")) : el("p", { class: "muted", text: "No scores yet." }),
    el("p", { class: "muted", text: scored.length ? `From ${day(new Date(scored[0][0]).toISOString())} to today.` : "" }),
  ));

  view.append(card("What holds your score down",
    report.reasons.length
      ? el("ol", {}, report.reasons.map((r) => el("li", {}, el("p", { text: r.sentence }), el("p", { class: "muted", text: "How to improve: " + r.improve }))))
      : el("p", { text: report.score === null ? "Nothing yet: you are not scored." : "Nothing holds this score down." }),
    el("h3", { text: "Negative records" }),
    report.negative_records.length
      ? el("ul", { class: "plain" }, report.negative_records.map((n) => {
          const key = n.event.furnisher_id + "/" + n.event.event_id;
          return el("li", {},
            el("p", {}, el("strong", { text: n.description })),
            el("p", { class: "muted", text: `Reported by ${n.event.furnisher_id} · dated ${day(n.dated)} · stops counting on ${day(n.stops_counting)}` }),
            el("div", { class: "row" },
              excluded.has(key)
                ? el("span", { class: "badge", text: "Under dispute: left out of your score" })
                : el("button", { class: "secondary", "aria-label": `Dispute ${n.description}`, onclick: () => openDispute(n.event) }, "Dispute this record"),
              el("button", { class: "secondary", "aria-label": `Add a statement to ${n.description}`, onclick: () => openStatement(n.event) }, "Add a statement")),
          );
        }))
      : el("p", { class: "muted", text: "No negative records count against you." }),
    me.excluded_under_dispute.length ? el("ul", { class: "plain" }, me.excluded_under_dispute.map((d) => el("li", {},
      el("p", {}, el("strong", { text: `Record ${d.event_id}` }), ` reported by ${d.furnisher_id}`),
      el("span", { class: "badge", text: d.status === "open" ? "Under dispute: left out of your score" : `Dispute ${d.status.replaceAll("_", " ")}: left out of your score` }),
    ))) : null,
  ));

  view.append(card("Perks",
    perks.length ? el("ul", { class: "plain" }, perks.map((p) => el("li", {},
      el("p", {}, el("strong", { text: p.perk.name }), ` · ${p.partner_name} `,
        p.eligible ? el("span", { class: "badge yes", text: "You qualify" })
          : el("span", { class: "badge", text: p.points_to_go ? `${p.points_to_go} points to go` : (p.why_not || "Not yet") })),
      p.perk.description ? el("p", { class: "muted", text: p.perk.description }) : null,
    ))) : el("p", { class: "muted", text: "No perks are offered yet." }),
    el("p", { class: "muted", text: "Perks never change your score, and nothing can be bought to raise it." }),
  ));

  const accounts = me.accounts;
  const result = el("p", { role: "status", "aria-live": "polite" });
  view.append(card("What if…",
    el("form", { class: "stack", onsubmit: async (event) => {
      event.preventDefault();
      const form = new FormData(event.target);
      const scenarios = [];
      if (form.get("months")) scenarios.push({ type: "on_time_months", months: Number(form.get("months")) });
      if (form.get("account") && form.get("balance") !== "") scenarios.push({ type: "pay_down", account_id: form.get("account"), balance: Math.round(Number(form.get("balance")) * 100) });
      try {
        const w = await api("POST", "/v1/me/what-if", { scenarios });
        result.textContent = w.projected_score === null ? "Still not enough data to score." : `Projected score ${w.projected_score} (${w.change >= 0 ? "+" : ""}${w.change ?? "–"}) by ${day(w.as_of)}. ${w.note}`;
      } catch (error) { result.textContent = "Could not project: " + error.message; }
    } },
      el("label", { for: "wi-months", text: "Pay every bill on time for … more months" }),
      el("select", { id: "wi-months", name: "months" }, el("option", { value: "", text: "—" }), [3, 6, 12, 24].map((m) => el("option", { value: m, text: `${m} months` }))),
      el("label", { for: "wi-account", text: "Pay this account's balance down…" }),
      el("select", { id: "wi-account", name: "account" }, el("option", { value: "", text: "—" }), accounts.map((a) => el("option", { value: a, text: a }))),
      el("label", { for: "wi-balance", text: "…to this amount" }),
      el("input", { id: "wi-balance", name: "balance", type: "number", min: 0, step: "0.01", inputmode: "decimal" }),
      el("button", { type: "submit" }, "Project my score"),
    ),
    result,
  ));

  const partnerName = Object.fromEntries(partners.map((p) => [p.id, p.name]));
  const nextYear = new Date(Date.now() + 365 * 86400e3).toISOString().slice(0, 10);
  view.append(card("Who may ask about you",
    consents.length ? el("ul", { class: "plain" }, consents.map((c) => {
      const active = !c.revoked_at && Date.parse(c.expires_at) > Date.now();
      return el("li", {},
        el("p", {}, el("strong", { text: partnerName[c.partner_id] || c.partner_id }), ` · ${c.scope.replace("_", " ")} · ${c.purpose}`),
        el("p", { class: "muted", text: active ? `Until ${day(c.expires_at)}` : c.revoked_at ? `Revoked ${day(c.revoked_at)}` : "Expired" }),
        active ? el("button", { class: "secondary", "aria-label": `Revoke consent for ${partnerName[c.partner_id] || c.partner_id}`, onclick: () => act("Consent revoked.", () => api("DELETE", "/v1/me/consents/" + encodeURIComponent(c.partner_id))) }, "Revoke") : null,
      );
    })) : el("p", { class: "muted", text: "No partner may ask about you." }),
    el("h3", { text: "Grant a consent" }),
    el("form", { class: "stack", onsubmit: (event) => {
      event.preventDefault();
      const form = new FormData(event.target);
      act("Consent granted.", () => api("POST", "/v1/me/consents", { partner_id: form.get("partner"), scope: form.get("scope"), purpose: form.get("purpose"), expires_at: form.get("expires") + "T23:59:59Z" }));
    } },
      el("label", { for: "c-partner", text: "Partner" }),
      el("select", { id: "c-partner", name: "partner", required: true }, partners.map((p) => el("option", { value: p.id, text: p.name }))),
      el("label", { for: "c-scope", text: "What they may see" }),
      el("select", { id: "c-scope", name: "scope" },
        el("option", { value: "eligibility", text: "Only yes or no for a perk" }),
        el("option", { value: "score", text: "My score and band" }),
        el("option", { value: "full_report", text: "My full report" })),
      el("label", { for: "c-purpose", text: "Purpose" }),
      el("input", { id: "c-purpose", name: "purpose", required: true, maxlength: 200, value: "Deposit-free rental" }),
      el("label", { for: "c-expires", text: "Until" }),
      el("input", { id: "c-expires", name: "expires", type: "date", required: true, value: nextYear }),
      el("button", { type: "submit" }, "Grant consent"),
    ),
    el("h3", { text: "Freeze" }),
    el("p", { class: "muted", text: "A freeze refuses every partner's question until you lift it. Both take effect at once." }),
    me.frozen
      ? el("button", { onclick: () => act("Freeze lifted.", () => api("DELETE", "/v1/me/freeze")) }, "Lift the freeze")
      : el("button", { class: "secondary", onclick: () => act("Your file is frozen.", () => api("POST", "/v1/me/freeze")) }, "Freeze my file"),
    el("h3", { text: "Income and other restricted data" }),
    el("p", { class: "muted", text: me.restricted_data_consent
      ? "You allow records of income, assets, deposits and tax; they count in your score. Withdrawing takes them out of it at once."
      : "Records of income, assets, deposits and tax are refused and never count, unless you allow them. You can withdraw at any time." }),
    me.restricted_data_consent
      ? el("button", { class: "secondary", onclick: () => act("Consent withdrawn: restricted data no longer counts.", () => api("DELETE", "/v1/me/restricted-data-consent")) }, "Withdraw consent to restricted data")
      : el("button", { class: "secondary", onclick: () => act("Consent given: restricted data may be reported and counts.", () => api("POST", "/v1/me/restricted-data-consent")) }, "Allow restricted data"),
  ));

  const others = access.filter((a) => a.who !== "subject");
  const own = access.length - others.length;
  view.append(card("Who looked at your data",
    others.length ? el("table", {},
      el("thead", {}, el("tr", {}, el("th", { text: "When" }), el("th", { text: "Who" }), el("th", { text: "Why" }))),
      el("tbody", {}, others.slice(0, 30).map((a) => el("tr", {}, el("td", { text: a.at.replace("T", " ").slice(0, 16) }), el("td", { text: a.who }), el("td", { text: a.why }))))
    ) : el("p", { class: "muted", text: access.length ? "Nobody but you has looked." : "Nobody has looked yet." }),
    own === 0 ? null : el("p", { class: "muted", text: own === 1 ? "1 entry is your own visit." : `${own} entries are your own visits.` }),
  ));

  view.append(card("Disputes and statements",
    disputes.length ? el("ul", { class: "plain" }, disputes.map((d) => el("li", {},
      el("p", {}, el("strong", { text: `Record ${d.event_id} from ${d.furnisher_id}` }), " ", el("span", { class: "badge", text: d.status.replaceAll("_", " ") })),
      el("p", { class: "muted", text: `Opened ${day(d.opened_at)} · answer due ${day(d.answer_due)}${d.note ? " · " + d.note : ""}` }),
    ))) : el("p", { class: "muted", text: "No disputes. Use “Dispute this record” on a negative record." }),
    me.statements.length ? el("h3", { text: "Your statements" }) : null,
    me.statements.length ? el("ul", { class: "plain" }, me.statements.map((s) => el("li", { text: `${s.event_id}: ${s.text}` }))) : null,
    el("h3", { text: "Ask a person to review a decision" }),
    el("form", { class: "stack", onsubmit: (event) => {
      event.preventDefault();
      const form = new FormData(event.target);
      act("Review requested. A person will answer.", () => api("POST", "/v1/me/reviews", { about: form.get("about"), message: form.get("message") }));
    } },
      el("label", { for: "r-about", text: "About" }),
      el("input", { id: "r-about", name: "about", required: true, maxlength: 200, value: "My score" }),
      el("label", { for: "r-message", text: "What should the reviewer know?" }),
      el("textarea", { id: "r-message", name: "message", required: true, maxlength: 2000, rows: 3 }),
      el("button", { type: "submit" }, "Request review"),
    ),
    reviews.length ? el("ul", { class: "plain" }, reviews.map((r) => el("li", { text: `${r.about}: ${r.status}${r.outcome ? " — " + r.outcome : ""}` }))) : null,
  ));

  view.append(card("Notices",
    notices.length ? el("ul", { class: "plain" }, notices.slice(0, 20).map((n) => el("li", { text: `${day(n.received_at)} · ${n.furnisher_id}: ${n.message}` }))) : el("p", { class: "muted", text: "No negative records were reported." }),
  ));

  view.append(el("section", { class: "card wide", "aria-labelledby": "h-data" },
    el("h2", { id: "h-data", text: "Your data" }),
    el("div", { class: "row" },
      el("button", { class: "secondary", onclick: downloadExport }, "Download my data (JSON)"),
      el("button", { class: "danger", onclick: confirmOptOut }, "Opt out and erase everything"),
    ),
  ));
}

function openDispute(event) {
  const dialog = el("dialog", { "aria-labelledby": "d-title" },
    el("form", { class: "stack", method: "dialog", onsubmit: (e) => {
      e.preventDefault();
      const reason = new FormData(e.target).get("reason");
      dialog.close();
      dialog.remove();
      act("Dispute opened: the record is left out while the furnisher answers (20 days at most).", () => api("POST", "/v1/me/disputes", { furnisher_id: event.furnisher_id, event_id: event.event_id, reason }));
    } },
      el("h2", { id: "d-title", text: "Dispute this record" }),
      el("label", { for: "d-reason", text: "What is wrong with it?" }),
      el("textarea", { id: "d-reason", name: "reason", required: true, rows: 3 }),
      el("div", { class: "row" },
        el("button", { type: "submit" }, "Open dispute"),
        el("button", { type: "button", class: "secondary", onclick: () => { dialog.close(); dialog.remove(); } }, "Cancel")),
    ));
  document.body.append(dialog);
  dialog.showModal();
}

function openStatement(event) {
  const dialog = el("dialog", { "aria-labelledby": "s-title" },
    el("form", { class: "stack", method: "dialog", onsubmit: (e) => {
      e.preventDefault();
      const text = new FormData(e.target).get("text");
      dialog.close();
      dialog.remove();
      act("Statement added: it is shown with this record.", () => api("POST", "/v1/me/statements", { furnisher_id: event.furnisher_id, event_id: event.event_id, text }));
    } },
      el("h2", { id: "s-title", text: "Add a statement to this record" }),
      el("p", { class: "muted", text: "A short explanation shown with the record, for example why a payment was late. It does not change the score." }),
      el("label", { for: "s-text", text: "Your statement (at most 1,000 characters)" }),
      el("textarea", { id: "s-text", name: "text", required: true, maxlength: 1000, rows: 4 }),
      el("div", { class: "row" },
        el("button", { type: "submit" }, "Add statement"),
        el("button", { type: "button", class: "secondary", onclick: () => { dialog.close(); dialog.remove(); } }, "Cancel")),
    ));
  document.body.append(dialog);
  dialog.showModal();
}

async function downloadExport() {
  const data = await api("GET", "/v1/me/export");
  const link = el("a", { href: URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" })), download: "credence-my-data.json" });
  document.body.append(link);
  link.click();
  link.remove();
}

function confirmOptOut() {
  const dialog = el("dialog", { "aria-labelledby": "o-title" },
    el("h2", { id: "o-title", text: "Opt out of Credence?" }),
    el("p", { text: "This erases every record, score, consent, dispute and statement about you. Partners will get no answer. Only a tombstone (not your id) and the audit record of the erasure remain. It cannot be undone; download your data first if you want it." }),
    el("div", { class: "row" },
      el("button", { class: "danger", onclick: async () => {
        dialog.close();
        dialog.remove();
        try {
          const erased = await api("DELETE", "/v1/me");
          const view = document.getElementById("view");
          view.replaceChildren(card("You have opted out", el("p", { text: `Erased ${erased.events} records, ${erased.scores} scores and ${erased.records} other items. Nothing about you is left but the tombstone and the audit record of the erasure.` })));
          credential = null;
          sessionStorage.removeItem("credence");
        } catch (error) { toast("Could not opt out: " + error.message); }
      } }, "Erase everything"),
      el("button", { class: "secondary", onclick: () => { dialog.close(); dialog.remove(); } }, "Keep my file"),
    ));
  document.body.append(dialog);
  dialog.showModal();
}

// ---- the operator's dashboard ----

async function operatorPage(view) {
  const [stats, disputes, reviews, audit, furnishers, partners, keys, perks] = await Promise.all([
    api("GET", "/v1/operator/stats"),
    api("GET", "/v1/operator/disputes"),
    api("GET", "/v1/operator/reviews"),
    api("GET", "/v1/operator/audit/verify"),
    api("GET", "/v1/operator/furnishers"),
    api("GET", "/v1/partners"),
    api("GET", "/v1/operator/keys"),
    api("GET", "/v1/operator/perks"),
  ]);
  document.getElementById("who").textContent = "Operator";
  const b = stats.bands;
  view.append(el("section", { class: "card wide", "aria-labelledby": "h-pop" },
    el("h2", { id: "h-pop", text: "Population" }),
    el("div", { class: "stats" },
      [["Subjects", stats.counts.subjects], ["Events", stats.counts.events], ["Not enough data", b.not_enough_data], ...BANDS.map((x) => [x.label, b[x.name] ?? 0])].map(([k, v]) =>
        el("div", {}, el("div", { class: "stat", text: Number(v).toLocaleString("en") }), el("div", { class: "muted", text: k })))),
    bars(stats.distribution.buckets, "Score distribution in 10-point buckets: " + stats.distribution.buckets.map(([s, c]) => `${s}: ${c}`).join(", ")),
    el("p", { class: "muted", text: `Drift (PSI of latest scores by band against the model's test population): ${stats.drift_psi === null ? "no reference" : stats.drift_psi.toFixed(3)}${stats.drift_psi === null ? "" : stats.drift_psi < 0.1 ? " — stable" : stats.drift_psi < 0.25 ? " — watch" : " — investigate"}` }),
  ));
  for (const m of stats.models) {
    const v = m.validation && m.validation.test;
    view.append(card(`Model for ${m.subject_kind}s`,
      el("p", {}, el("strong", { text: m.version }), ` · made by ${m.method === "trained" ? "training" : m.method} on ${day(m.created)}`),
      v ? el("p", { text: `Test AUC ${v.auc.toFixed(3)} · Gini ${v.gini.toFixed(3)} · KS ${v.ks.toFixed(3)} · ${v.rows.toLocaleString("en")} rows` }) : el("p", { class: "muted", text: "No validation recorded." }),
      m.roc.length ? roc(m.roc, `ROC curve of ${m.version}${v ? ", AUC " + v.auc.toFixed(3) : ""}`) : null,
      el("p", { class: "muted", text: Object.entries(m.dimensions).map(([d, f]) => `${d}: ${f.length}`).join(" · ") + " features" }),
      el("p", { class: "muted", text: `Checksum ${m.checksum.slice(0, 16)}…` }),
    ));
  }
  view.append(card("Dispute queue",
    disputes.length ? el("ul", { class: "plain" }, disputes.map((d) => el("li", {},
      el("p", {}, el("strong", { text: `${d.furnisher_id} / ${d.event_id}` }), ` · due ${day(d.answer_due)}`),
      el("p", { class: "muted", text: d.reason }),
      el("div", { class: "row" },
        el("button", { class: "secondary", "aria-label": `Confirm record ${d.event_id}`, onclick: () => act("Dispute answered: confirmed.", () => api("POST", `/v1/disputes/${d.id}/answer`, { answer: "confirm", note: "Confirmed on review" })) }, "Confirm record"),
        el("button", { "aria-label": `Withdraw record ${d.event_id}`, onclick: () => act("Dispute answered: withdrawn.", () => api("POST", `/v1/disputes/${d.id}/answer`, { answer: "withdraw", note: "Withdrawn on review" })) }, "Withdraw record")),
    ))) : el("p", { class: "muted", text: "No open disputes." }),
  ));
  view.append(card("Human review queue",
    reviews.length ? el("ul", { class: "plain" }, reviews.map((r) => el("li", {},
      el("p", {}, el("strong", { text: r.about }), ` · ${day(r.opened_at)}`),
      el("p", { class: "muted", text: r.message }),
      el("form", { class: "row", onsubmit: (e) => {
        e.preventDefault();
        const outcome = new FormData(e.target).get("outcome");
        act("Review closed.", () => api("POST", `/v1/operator/reviews/${r.id}/close`, { outcome }));
      } },
        el("label", { for: "o-" + r.id, text: "Answer" }),
        el("input", { id: "o-" + r.id, name: "outcome", required: true }),
        el("button", { type: "submit" }, "Close review")),
    ))) : el("p", { class: "muted", text: "No requests waiting." }),
  ));
  view.append(card("Audit chain",
    el("p", {}, el("span", { class: audit.intact ? "badge yes" : "badge no", text: audit.intact ? "Intact" : "BROKEN" }), ` ${audit.entries.toLocaleString("en")} entries`),
    audit.problem ? el("p", { class: "error", text: audit.problem }) : null,
    el("p", { class: "muted", text: `Head ${audit.head_hash.slice(0, 24)}…` }),
  ));
  const table = (heads, rows) => el("table", {}, el("thead", {}, el("tr", {}, heads.map((h) => el("th", { text: h })))), el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c) => el("td", { text: c }))))));
  view.append(card("Furnishers", table(["Id", "Name", "Kinds"], furnishers.map((f) => [f.id, f.name, f.kinds.join(", ")]))));
  view.append(card("Partners", table(["Id", "Name", "Since"], partners.map((p) => [p.id, p.name, day(p.created_at)]))));
  view.append(card("Perks", table(["Partner", "Perk", "Minimum"], perks.map((p) => [partners.find((x) => x.id === p.partner_id)?.name || p.partner_id, p.name, String(p.min_score)]))));
  view.append(card("API keys", table(["Id", "Role", "For", "State"], keys.map((k) => [k.id, k.role, k.principal, k.revoked_at ? "revoked" : "active"]))));
}

// ---- start ----

async function render() {
  const view = document.getElementById("view");
  const fresh = el("div", { id: "view" });
  try {
    if (credential.startsWith("st1.")) await subjectPage(fresh);
    else await operatorPage(fresh);
    view.replaceWith(fresh);
  } catch (error) {
    view.replaceChildren(card("Something went wrong", el("p", { class: "error", text: error.message }),
      el("p", { class: "muted", text: error.code === "unauthenticated" ? "Your link has expired or is not valid: open a new one from your provider's app." : "Try again in a moment." })));
  }
}

function start() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const given = hash.get("token") || hash.get("key");
  if (given) {
    sessionStorage.setItem("credence", given);
    // The credential leaves the address bar (and the history) at once.
    history.replaceState(null, "", location.pathname);
  }
  credential = given || sessionStorage.getItem("credence");
  const signin = document.getElementById("signin");
  if (!credential) {
    signin.hidden = false;
    document.getElementById("signin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      credential = document.getElementById("credential").value.trim();
      sessionStorage.setItem("credence", credential);
      signin.hidden = true;
      render();
    });
    return;
  }
  render();
}

start();
