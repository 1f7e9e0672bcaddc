// Browser test of wirelab's dashboard: playwright-core drives the system's
// Chromium through the page as a person would, clicking the lab picker, the
// tabs and the buttons, and saves a screenshot of each view.
//
//   node web/tests/dashboard.mjs http://127.0.0.1:PORT SCREENSHOT_DIR
//
// The server must serve labs/03-vpc-security.yaml,
// labs/05-exercise-fix-the-vpc.yaml and labs/06-traffic-over-a-wan.yaml
// (crates/wirelab/tests/playwright.rs starts it). Chromium is
// /usr/bin/chromium unless WIRELAB_CHROMIUM names another. Any error of the
// page (an exception, a console error) fails the test. Exit status 0 when
// every step passed, 1 with the failed step's message otherwise, 2 for bad
// arguments.

import { mkdir } from "node:fs/promises";
import path from "node:path";
import { chromium } from "playwright-core";

const [root, shots] = process.argv.slice(2);
if (!root || !shots) {
  console.error("usage: node dashboard.mjs ROOT_URL SCREENSHOT_DIR");
  process.exit(2);
}
const base = root.replace(/\/+$/, "");
const TIMEOUT_MS = 30_000;

class Failure extends Error {}

function check(ok, message) {
  if (!ok) throw new Failure(message);
}

async function getJson(p) {
  const res = await fetch(`${base}/api/v1${p}`);
  check(res.ok, `GET /api/v1${p} answered ${res.status}`);
  return res.json();
}

async function postJson(p, body) {
  const res = await fetch(`${base}/api/v1${p}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  check(res.ok, `POST /api/v1${p} answered ${res.status}`);
  return res.json();
}

let step = "starting";
const problems = []; // errors of the page itself, reported at the end of a step

async function main() {
  await mkdir(shots, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.WIRELAB_CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(TIMEOUT_MS);
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    // The console says only "Failed to load resource"; this says which.
    page.on("response", (res) => {
      if (res.status() >= 400) problems.push(`${res.request().method()} ${res.url()} answered ${res.status()}`);
    });
    page.on("console", (msg) => {
      if (msg.type() === "error") problems.push(`console error: ${msg.text()}`);
    });
    await scenario(page);
  } finally {
    await browser.close();
  }
}

// Runs one step of the scenario; a page error during it fails the step.
async function during(name, body) {
  step = name;
  await body();
  check(problems.length === 0, problems.join("; "));
  console.log(`ok: ${name}`);
}

async function shot(page, file) {
  await page.screenshot({ path: path.join(shots, file) });
}

// Picks a lab in the header's list and waits until its topology is drawn:
// every node the API knows, and no node of the lab shown before.
async function pickLab(page, id) {
  const topo = await getJson(`/labs/${id}/topology`);
  const names = topo.nodes.map((n) => n.name);
  check(names.length > 0, `lab ${id} has no nodes`);
  await page.selectOption("#lab", id);
  await page.waitForFunction(
    (want) => {
      const drawn = [...document.querySelectorAll("#topology [data-node]")].map((n) => n.dataset.node);
      return drawn.length === want.length && want.every((w) => drawn.includes(w));
    },
    names,
  );
  return topo;
}

async function tab(page, name) {
  await page.getByRole("tab", { name, exact: true }).click();
  await page.locator(`#tab-${name.toLowerCase()}`).waitFor({ state: "visible" });
}

// Clicks "Run the checks" and waits for the score line of the report.
async function runChecks(page) {
  await tab(page, "Checks");
  await page.getByRole("button", { name: "Run the checks" }).click();
  await page.waitForFunction(() => /^\d+ passed, \d+ failed · /.test(document.getElementById("score").textContent));
  return page.locator("#score").textContent();
}

async function scenario(page) {
  await during("the page opens", async () => {
    await page.goto(`${base}/`);
    await page.locator("#lab option").first().waitFor({ state: "attached" });
    const ids = await page.locator("#lab option").evaluateAll((os) => os.map((o) => o.value));
    for (const id of ["03-vpc-security", "05-exercise-fix-the-vpc", "06-traffic-over-a-wan"]) {
      check(ids.includes(id), `lab ${id} is not in the lab picker (${ids.join(", ")})`);
    }
  });

  await during("lab 03: every host and router is drawn", async () => {
    const topo = await pickLab(page, "03-vpc-security");
    for (const node of topo.nodes) {
      const shape = node.role === "router" ? "router" : "host";
      const drawn = page.locator(`#topology g.node.${shape}[data-node="${node.name}"]`);
      check(await drawn.isVisible(), `${shape} ${node.name} is not visible`);
    }
    for (const net of topo.networks) {
      check(await page.locator(`#topology [data-net="${net.name}"]`).isVisible(), `network ${net.name} is not visible`);
    }
    check((await page.locator("#title").textContent()).trim() !== "", "the lab's title is empty");
    await shot(page, "topology.png");
  });

  await during("lab 03: the checks run and all 21 pass", async () => {
    const score = await runChecks(page);
    check(score.startsWith("21 passed, 0 failed"), `score line: ${score}`);
    check((await page.locator("#checks li.pass").count()) === 21, "21 passed checks listed");
    check((await page.locator("#checks li.fail").count()) === 0, "no failed check listed");
    await shot(page, "checks.png");
  });

  await during("lab 05: a failing check shows its explanation and hint", async () => {
    await pickLab(page, "05-exercise-fix-the-vpc");
    check((await page.locator("#score").textContent()) === "", "the previous lab's score is cleared");
    const score = await runChecks(page);
    const failed = Number(/(\d+) failed/.exec(score)[1]);
    check(failed > 0, `the exercise starts with failing checks: ${score}`);
    const fails = page.locator("#checks li.fail");
    check((await fails.count()) === failed, `${failed} failed checks listed`);
    const first = fails.first();
    await first.scrollIntoViewIfNeeded();
    const why = first.locator(".why");
    const hint = first.locator(".hint");
    check(await why.isVisible(), "the failed check's explanation is visible");
    check(/^expected .+, observed .+: ./.test(await why.textContent()), `explanation: ${await why.textContent()}`);
    check(await hint.isVisible(), "the failed check's hint is visible");
    check(/^hint: ./.test(await hint.textContent()), `hint: ${await hint.textContent()}`);
    await shot(page, "failing-check.png");
  });

  // Fills the trace form as a person would and waits for the verdict of
  // this exchange (the form's values are part of the verdict's text).
  async function trace(from, to, port, outcome) {
    const form = page.locator("#trace-form");
    await form.locator('select[name="from"]').selectOption(from);
    await form.locator('input[name="to"]').fill(to);
    await form.locator('select[name="proto"]').selectOption("tcp");
    await form.locator('input[name="port"]').fill(String(port));
    const previous = await page.locator("#trace-verdict").textContent();
    await page.getByRole("button", { name: "Trace", exact: true }).click();
    await page.waitForFunction(
      (old) => {
        const text = document.getElementById("trace-verdict").textContent;
        return text !== "" && text !== old;
      },
      previous,
    );
    await page.locator("#sequence g.frame").first().waitFor();
    const verdict = (await page.locator("#trace-verdict").textContent()).trim();
    check(verdict.startsWith(`${outcome}: `), `trace ${from} → ${to}:${port}: verdict "${verdict}", wanted ${outcome}`);
    const cls = await page.locator("#trace-verdict").getAttribute("class");
    check(cls.split(" ").includes(outcome), `the verdict is styled as ${outcome} (${cls})`);
    check(await page.locator("#sequence").isVisible(), "the sequence diagram is visible");
    return page.locator("#sequence g.frame").count();
  }

  await during("lab 03: an allowed trace is drawn as a sequence diagram", async () => {
    await pickLab(page, "03-vpc-security");
    await tab(page, "Trace");
    const frames = await trace("client", "web1", 443, "allow");
    check(frames >= 3, `the handshake has ${frames} frames`);
    check((await page.locator("#sequence .arrow.dropped").count()) === 0, "no dropped arrow in an allowed trace");
    check((await page.locator("#sequence text.frame-label", { hasText: "SYN,ACK" }).count()) > 0, "a SYN,ACK arrow");
    await shot(page, "trace-allowed.png");
  });

  await during("lab 03: a denied trace ends in a dropped arrow", async () => {
    await trace("web1", "db1", 5432, "deny");
    check((await page.locator("#sequence .arrow.dropped").count()) > 0, "a dropped arrow");
    await shot(page, "trace.png");
  });

  await during("lab 03: the rules list every security group's rules", async () => {
    const counters = await getJson("/labs/03-vpc-security/counters");
    const rules = counters.rules || [];
    check(rules.length > 0, "lab 03 has rules");
    await tab(page, "Rules");
    await page.locator("#rules table tbody tr").first().waitFor();
    const rows = await page.locator("#rules table tbody tr").count();
    check(rows === rules.length, `${rows} rule rows, the API counts ${rules.length}`);
    const filters = new Set(rules.map((r) => `${r.kind}/${r.filter}`)).size;
    check((await page.locator("#rules h3").count()) === filters, `one table per filter (${filters})`);
    await shot(page, "rules.png");
  });

  // Lab 06 has traffic. Its clock is restarted through the API while the
  // page shows it, so flows run and events arrive live whatever the time
  // the steps before took.
  await during("lab 06: no filters to list", async () => {
    await pickLab(page, "06-traffic-over-a-wan");
    await tab(page, "Rules");
    const note = page.locator("#rules p.note");
    check(await note.isVisible(), "the no-filters note is shown");
    check((await note.textContent()).includes("no security groups or NACLs"), "the no-filters note's text");
  });

  let before = 0;
  await during("lab 06: events arrive over the live stream", async () => {
    await tab(page, "Events");
    const items = page.locator("#events li");
    await items.first().waitFor(); // the kept history, at least
    before = await items.count();
    const clock = await postJson("/labs/06-traffic-over-a-wan/clock", { action: "reset" });
    check(clock.state === "running", `the clock runs after a reset (${clock.state})`);
    // A fresh run starts its flows at once: those events come live.
    await page.waitForFunction(
      (n) => document.querySelectorAll("#events li").length > n,
      before,
    );
    await page.locator("#events li", { hasText: "flow-started" }).first().waitFor();
    await shot(page, "events.png");
  });

  await during("lab 06: the flows table lists every workload", async () => {
    const flows = (await getJson("/labs/06-traffic-over-a-wan/flows")).flows;
    check(flows.length === 4, `lab 06 has 4 workloads (${flows.length})`);
    await tab(page, "Flows");
    await page.waitForFunction(
      (n) => document.querySelectorAll("#flows tr").length === n,
      flows.length,
    );
    for (const f of flows) {
      const row = page.locator("#flows tr", { has: page.locator("td:first-child", { hasText: f.name }) });
      check((await row.count()) === 1, `a row for ${f.name}`);
    }
    check(await page.locator("#flows-empty").isHidden(), "the no-traffic note is hidden");
    // The table follows the run the reset started: wait for a workload
    // that is running and has delivered bytes (the voice call runs for 6 s,
    // the API calls for 7.5 s, the page polls every second).
    await page.waitForFunction(() =>
      [...document.querySelectorAll("#flows tr")].some(
        (tr) => tr.cells[3].textContent.startsWith("running") && tr.cells[4].textContent !== "0 B",
      ),
    );
    await shot(page, "flows.png");
  });

  await during("lab 06: more events arrived while the flows ran", async () => {
    await tab(page, "Events");
    const now = await page.locator("#events li").count();
    check(now > before, `events after the reset (${before} before, ${now} now)`);
  });
}

main().then(
  () => console.log("dashboard: every step passed"),
  (err) => {
    const why = err instanceof Failure ? err.message : String(err && err.stack || err);
    console.error(`dashboard: FAILED at "${step}": ${why}`);
    if (problems.length) console.error(`page problems: ${problems.join("; ")}`);
    process.exitCode = 1;
  },
);
