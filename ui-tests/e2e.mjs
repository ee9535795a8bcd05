// End-to-end tests of the subject page and the operator dashboard, in
// Debian's chromium, against the real server (started by scripts/test-ui).
// Every step asserts on what is on screen, not only on HTTP codes.
//
// Usage: node e2e.mjs <base url> <file with the demo's output> [screenshot dir]
import { chromium } from "playwright-core";
import { readFileSync, mkdirSync } from "node:fs";
import assert from "node:assert/strict";

const [base, demoOutput, shots] = process.argv.slice(2);
const printed = readFileSync(demoOutput, "utf8");
const tokens = [...printed.matchAll(/^  (sub-\d+): (st1\.\S+)$/gm)].map((m) => ({ id: m[1], token: m[2] }));
const operatorKey = printed.match(/^  operator\s+(crd_\S+)$/m)[1];
const bikeKey = printed.match(/^  partner bike-share\s*(crd_\S+)$/m)[1];
const bankKey = printed.match(/^  furnisher bank-a\s*(crd_\S+)$/m)[1];
assert.ok(tokens.length >= 2, "the demo printed subject tokens");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const outside = [];
let failures = 0;

async function page(credential, viewport = { width: 390, height: 844 }) {
  const context = await browser.newContext({ viewport });
  const p = await context.newPage();
  p.on("request", (r) => { if (!r.url().startsWith(base) && !r.url().startsWith("data:") && !r.url().startsWith("blob:")) outside.push(r.url()); });
  p.on("pageerror", (e) => { throw e; });
  await p.goto(`${base}/app/#${credential.startsWith("st1.") ? "token" : "key"}=${credential}`);
  return p;
}

async function partner(method, path, body) {
  const r = await fetch(base + path, { method, headers: { Authorization: "Bearer " + bikeKey, "Content-Type": "application/json" }, body: body && JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}

async function check(transaction) {
  const consents = (await partner("GET", "/v1/partner/consents")).body;
  const active = consents.find((c) => c.active) || consents[0];
  if (!active) return { status: 403, body: { code: "consent_required" } };
  return partner("POST", "/v1/partner/check", { pseudonym: active.pseudonym, perk_id: "deposit-free-ride", transaction_id: transaction });
}

async function test(name, body) {
  try {
    await body();
    console.log(`ok   ${name}`);
  } catch (error) {
    failures += 1;
    console.log(`FAIL ${name}\n     ${error.stack.split("\n").slice(0, 3).join("\n     ")}`);
  }
}

const dialScore = async (p) => (await p.locator("svg.dial").getAttribute("aria-label"));

await test("a subject sees the score, band, dimensions and reasons", async () => {
  const p = await page(tokens[0].token);
  await p.getByRole("heading", { name: "Your score", exact: true }).waitFor();
  assert.match(await dialScore(p), /Score \d{3} of 350 to 950, band/);
  await p.getByText("Friends, contacts and connections are never part of your score").waitFor();
  assert.match(await p.getByRole("img", { name: /Five dimensions/ }).getAttribute("aria-label"), /history \d+/);
  assert.ok(await p.getByText("How to improve:").first().isVisible(), "reasons come with how to improve");
  await p.getByText(/stops counting on \d{4}-\d{2}-\d{2}/).first().waitFor();
  assert.equal(new URL(p.url()).hash, "", "the token leaves the address bar");
  await p.context().close();
});

await test("grant consent → partner check passes → revoke → denied at once", async () => {
  const p = await page(tokens[0].token);
  await p.getByLabel("Partner").selectOption({ label: "City Bike Share" });
  await p.getByLabel("What they may see").selectOption("eligibility");
  await p.getByRole("button", { name: "Grant consent" }).click();
  await p.getByRole("button", { name: "Revoke consent for City Bike Share" }).waitFor();
  const allowed = await check("ui-1");
  assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
  assert.equal(typeof allowed.body.eligible, "boolean");
  assert.equal(allowed.body.score, undefined, "eligibility never shows the number");
  await p.reload();
  await p.getByRole("cell", { name: "partner:bike-share" }).first().waitFor();
  await p.getByRole("button", { name: "Revoke consent for City Bike Share" }).click();
  await p.getByText(/^Revoked \d{4}/).waitFor();
  const denied = await check("ui-2");
  assert.equal(denied.status, 403);
  assert.equal(denied.body.code, "consent_required");
  await p.context().close();
});

async function furnish(events) {
  const r = await fetch(base + "/v1/events", { method: "POST", headers: { Authorization: "Bearer " + bankKey, "Content-Type": "application/json" }, body: JSON.stringify(events) });
  assert.equal(r.status, 200, JSON.stringify(await r.json()));
}

const daysAgo = (n) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 19) + "Z";
const scoreOf = (label) => Number((label.match(/Score (\d{3})/) || [0, NaN])[1]);

await test("one dispute of a late-but-paid bill takes it out and the page shows the new score", async () => {
  const subject = tokens[0].id;
  await furnish([{ event_id: "ui-loan-open", subject_id: subject, kind: "account_opened", occurred_at: daysAgo(800), account_id: "ui-loan", account_type: "loan" }]);
  const p = await page(tokens[0].token);
  const clean = scoreOf(await dialScore(p));
  await furnish([
    { event_id: "ui-late-bill", subject_id: subject, kind: "bill_due", occurred_at: daysAgo(60), account_id: "ui-loan", bill_id: "ui-b1", amount: 25000, currency: "EUR" },
    { event_id: "ui-late-pay", subject_id: subject, kind: "payment_made", occurred_at: daysAgo(15), account_id: "ui-loan", bill_id: "ui-b1", amount: 25000, currency: "EUR", days_late: 45 },
  ]);
  await p.reload();
  const record = "Dispute payment on account ui-loan made 45 days late";
  await p.getByRole("button", { name: record, exact: true }).waitFor();
  const hurt = scoreOf(await dialScore(p));
  assert.ok(hurt < clean, `the late payment lowers the score (${clean} → ${hurt})`);
  await p.getByRole("button", { name: record, exact: true }).click();
  await p.getByLabel("What is wrong with it?").fill("I paid this bill on time.");
  await p.getByRole("button", { name: "Open dispute" }).click();
  await p.getByText(/Dispute opened|Could not do that/).waitFor();
  assert.match(await p.locator("#toast").textContent(), /Dispute opened/);
  await p.getByText("Under dispute: left out of your score").first().waitFor();
  assert.equal(scoreOf(await dialScore(p)), clean, "one dispute takes the whole record out at once");
  assert.equal(await p.getByRole("button", { name: /ui-loan/ }).count(), 0, "the record does not come back naming the payment");
  await p.getByText("1 record under dispute is left out of this score.").waitFor();
  await p.context().close();
});

await test("the subject gives and withdraws the restricted-data consent, both audited", async () => {
  const p = await page(tokens[0].token);
  const start = await p.getByRole("button", { name: /^(Allow restricted data|Withdraw consent to restricted data)$/ }).textContent();
  const [first, second] = start === "Allow restricted data"
    ? ["Allow restricted data", "Withdraw consent to restricted data"]
    : ["Withdraw consent to restricted data", "Allow restricted data"];
  await p.getByRole("button", { name: first }).click();
  await p.getByRole("button", { name: second }).waitFor();
  await p.getByRole("button", { name: second }).click();
  await p.getByRole("button", { name: first }).waitFor();
  await p.context().close();
  const log = await (await fetch(base + "/v1/me/access-log", { headers: { Authorization: "Bearer " + tokens[0].token } })).json();
  const actions = log.map((e) => e.what);
  assert.ok(actions.includes("restricted_consent.give") && actions.includes("restricted_consent.withdraw"), JSON.stringify(actions));
});

await test("the subject's page reads as people write", async () => {
  const p = await page(tokens[0].token, { width: 1440, height: 900 });
  await p.getByRole("heading", { name: "Five dimensions" }).waitFor();
  const text = await p.locator("main").innerText();
  assert.doesNotMatch(text, /\b1 days\b/, "one day is singular");
  assert.doesNotMatch(text, /Verified and stable/, "a dimension's meaning is no verdict");
  assert.match(text, /Measures: How well identity is verified/);
  assert.match(text, /Ride without the €299 deposit\./, "an amount carries its currency");
  assert.doesNotMatch(text, /\(s\)/, "no record(s)-style plurals");
  // A dimension with no data is no point at the centre: every drawn vertex
  // sits away from it, and there is one per dimension with a value.
  const radar = await p.getByRole("img", { name: /Five dimensions/ }).evaluate((svg) => {
    const label = svg.getAttribute("aria-label");
    const dots = [...svg.querySelectorAll("circle")].map((c) => [Number(c.getAttribute("cx")), Number(c.getAttribute("cy"))]);
    return { label, dots };
  });
  const known = (radar.label.match(/\b\d+\b/g) || []).length - 2; // less "0 to 100"
  assert.equal(radar.dots.length, known, radar.label);
  for (const [x, y] of radar.dots) assert.ok(Math.hypot(x - 170, y - 150) > 0.5, `a vertex at the centre: ${radar.label}`);
  await p.context().close();
});

await test("the dashboard's figures never run into each other", async () => {
  const p = await page(operatorKey, { width: 1440, height: 900 });
  await p.getByRole("heading", { name: "Population" }).waitFor();
  // The largest counts a big deployment shows.
  const overlaps = await p.evaluate(() => {
    const figures = [...document.querySelectorAll(".stats > *")];
    figures[1].querySelector(".stat").textContent = "1,123,442,144";
    figures[2].querySelector(".stat").textContent = "12,345,678";
    const boxes = figures.map((f) => f.getBoundingClientRect());
    const inner = figures.map((f) => f.querySelector(".stat").getBoundingClientRect());
    const found = [];
    inner.forEach((r, i) => {
      if (r.right > boxes[i].right + 0.5) found.push(`figure ${i} overflows its box`);
      boxes.forEach((b, j) => {
        if (i !== j && r.left < b.right - 0.5 && r.right > b.left + 0.5 && r.top < b.bottom - 0.5 && r.bottom > b.top + 0.5) found.push(`figure ${i} runs into figure ${j}`);
      });
    });
    return found;
  });
  assert.deepEqual(overlaps, []);
  // Cards are as tall as their content: no card is mostly empty space.
  const empty = await p.evaluate(() => [...document.querySelectorAll("#view > .card")].filter((c) => {
    const last = c.lastElementChild.getBoundingClientRect();
    return c.getBoundingClientRect().bottom - last.bottom > 60;
  }).map((c) => c.querySelector("h2").textContent));
  assert.deepEqual(empty, []);
  await p.context().close();
});

await test("a subject adds an explanatory statement to a record", async () => {
  const p = await page(tokens[0].token);
  await p.getByRole("button", { name: /^Add a statement to / }).first().click();
  await p.getByLabel(/Your statement/).fill("I was in hospital that month.");
  await p.getByRole("button", { name: "Add statement" }).click();
  await p.getByText("Statement added: it is shown with this record.").waitFor();
  await p.getByText(/: I was in hospital that month\.$/).waitFor();
  await p.context().close();
});

await test("the operator sees the dashboard and resolves the dispute", async () => {
  const p = await page(operatorKey, { width: 1280, height: 900 });
  await p.getByRole("heading", { name: "Population" }).waitFor();
  await p.getByRole("img", { name: /Score distribution/ }).waitFor();
  await p.getByText(/Test AUC 0\.\d+ · Gini 0\.\d+ · KS 0\.\d+/).first().waitFor();
  await p.getByText("Intact").waitFor();
  const withdraw = p.getByRole("button", { name: /^Withdraw record / });
  const open = await withdraw.count();
  assert.ok(open >= 1, "the subject's dispute is in the queue");
  await withdraw.first().click();
  await p.getByText("Dispute answered: withdrawn.").waitFor();
  if (open === 1) await p.getByText("No open disputes.").waitFor();
  else assert.equal(await p.getByRole("button", { name: /^Withdraw record / }).count(), open - 1);
  await p.context().close();
  const s = await page(tokens[0].token);
  await s.getByText(/^withdrawn$/).first().waitFor();
  await s.context().close();
});

await test("opt-out erases, after a clear confirmation", async () => {
  const victim = tokens[tokens.length - 1];
  const p = await page(victim.token);
  await p.getByRole("button", { name: "Opt out and erase everything" }).click();
  await p.getByText(/This erases every record, score, consent/).waitFor();
  await p.getByRole("button", { name: "Erase everything", exact: true }).click();
  await p.getByRole("heading", { name: "You have opted out" }).waitFor();
  await p.getByText(/Erased \d+ records/).waitFor();
  const after = await fetch(base + "/v1/me", { headers: { Authorization: "Bearer " + victim.token } });
  assert.equal(after.status, 404, "nothing is left to read");
  await p.context().close();
});

await test("keyboard: the skip link and every control are reachable", async () => {
  const p = await page(tokens[0].token);
  await p.getByRole("heading", { name: "Your score", exact: true }).waitFor();
  await p.keyboard.press("Tab");
  assert.equal(await p.evaluate(() => document.activeElement.textContent), "Skip to content");
  const unlabelled = await p.evaluate(() => [...document.querySelectorAll("input, select, textarea")].filter((e) => !e.labels || e.labels.length === 0).length);
  assert.equal(unlabelled, 0, "every form control has a label");
  const unnamedCharts = await p.evaluate(() => [...document.querySelectorAll("svg")].filter((s) => !s.getAttribute("aria-label")).length);
  assert.equal(unnamedCharts, 0, "every chart has a text alternative");
  await p.context().close();
});

if (shots) {
  mkdirSync(shots, { recursive: true });
  for (const [name, credential, viewport] of [
    ["subject-phone", tokens[0].token, { width: 390, height: 844 }],
    ["subject-desktop", tokens[0].token, { width: 1280, height: 900 }],
    ["dashboard", operatorKey, { width: 1280, height: 900 }],
  ]) {
    const p = await page(credential, viewport);
    await p.locator("#view section.card").first().waitFor();
    await p.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
    await p.context().close();
  }
  console.log(`screenshots in ${shots}`);
}

await test("no request went to any other host", async () => {
  assert.deepEqual(outside, []);
});

await browser.close();
if (failures) {
  console.log(`${failures} UI test(s) failed`);
  process.exit(1);
}
console.log("all UI tests passed");
