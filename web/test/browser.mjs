// Drive web/index.html in headless Chromium (playwright-core, Debian's /usr/bin/chromium):
//   node web/test/browser.mjs --url http://127.0.0.1:PORT/ --case CASE.json [--screenshot OUT.png] [--expect-table]
//                             [--menus PREFIXES.json]
// CASE.json: {"schema": ..., "statement": ...}. Types the schema and `SELECT * FROM `, waits up to 2 s
// for a suggestion (with --expect-table: one naming a schema table), accepts it with Tab, then types
// 50 keystrokes of the statement and reports suggestion latencies. With --menus, types each prefix of the
// JSON list and reports the menu shown for it, then where a menu of long items lies in a narrow viewport
// (its box, and the size of a screenshot of it). Prints one JSON line; exit 1 on failure.
import { existsSync, readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const argv = process.argv.slice(2);
const arg = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const url = arg("--url"), screenshot = arg("--screenshot"), expectTable = argv.includes("--expect-table");
const menusPath = arg("--menus");
const { schema, statement } = JSON.parse(readFileSync(arg("--case"), "utf8"));
const executablePath = arg("--chromium", "/usr/bin/chromium");
const KEYSTROKES = 50, TYPING_DELAY_MS = 120; // a fast typist: ~100 words a minute

if (!existsSync(executablePath)) {
  console.log(JSON.stringify({ skipped: `no chromium at ${executablePath}` }));
  process.exit(0);
}
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? +s[Math.min(s.length - 1, Math.floor(q * s.length))].toFixed(1) : null;
};
const report = { url };
const browser = await chromium.launch({
  executablePath, headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  const consoleErrors = [];
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => window.__sqlc && window.__sqlc.ready, null, { timeout: 60000 });
  report.model = await page.evaluate(() => window.__sqlc.model);

  // 1. a schema, then `SELECT * FROM `: a suggestion (naming a table) within 2 s, Tab inserts it
  await page.waitForFunction(() => window.__sqlc.state.schemaInfo, null, { timeout: 30000 }); // the example's prefill
  const before = await page.evaluate(() => window.__sqlc.state.schemaInfo);
  await page.fill("#schema", schema);
  await page.waitForFunction((b) => {
    const s = window.__sqlc.state.schemaInfo;
    return s && s !== b && JSON.stringify(s) !== JSON.stringify(b);
  }, before, { timeout: 30000 }).catch(() => {}); // same schema as before: nothing new to prefill
  report.schema = await page.evaluate(() => window.__sqlc.state.schemaInfo);
  await page.click("#sql");
  const typed = "SELECT * FROM ";
  await page.keyboard.type(typed, { delay: 30 });
  const t0 = Date.now();
  // a fresh answer for exactly this text (not the ghost of an earlier answer typed through)
  await page.waitForFunction((p) => {
    const st = window.__sqlc.state;
    return st.suggestions.length > 0 && st.shownFor && st.shownFor.prefix === p &&
      window.__sqlc.latencies.some((l) => l.prefix === p && !l.stale);
  }, typed, { timeout: 2000 });
  report.first_suggestion_ms = Date.now() - t0;
  const shown = await page.evaluate((p) => ({ ghost: document.querySelector(".mirror .ghost").textContent,
    menu: [...document.querySelectorAll("#menu li")].map((li) => li.textContent),
    suggestions: window.__sqlc.latencies.findLast((l) => l.prefix === p && !l.stale).suggestions }), typed);
  report.shown = shown;
  const tables = [...schema.matchAll(/create\s+table\s+(?:if\s+not\s+exists\s+)?[`"]?([\w.]+)/gi)].map((m) => m[1].split(".").at(-1).toLowerCase());
  const firstWord = (s) => (s.match(/^\s*([A-Za-z_][A-Za-z0-9_]*)/) || [, ""])[1].toLowerCase();
  report.names_table = shown.suggestions.some((s) => tables.includes(firstWord(s)));
  const best = await page.evaluate(() => window.__sqlc.state.suggestions[0]);
  await page.keyboard.press("Tab");
  report.after_tab = await page.inputValue("#sql");
  report.tab_inserted = report.after_tab === typed + best;

  // 2. 50 keystrokes of a statement: latency of each answered keystroke
  await page.fill("#sql", "");
  await page.waitForFunction(() => !window.__sqlc.state.inFlight, null, { timeout: 5000 }).catch(() => {});
  const start = await page.evaluate(() => window.__sqlc.latencies.length);
  const text = statement.slice(0, KEYSTROKES);
  await page.keyboard.type(text, { delay: TYPING_DELAY_MS });
  await page.waitForFunction((p) => {
    const st = window.__sqlc.state;
    return !st.inFlight && st.shownFor && st.shownFor.prefix === p;
  }, text, { timeout: 5000 }).catch(() => {});
  const lat = (await page.evaluate((s) => window.__sqlc.latencies.slice(s), start)).filter((l) => !l.stale);
  report.typing = {
    keystrokes: text.length, answered: lat.length, typing_delay_ms: TYPING_DELAY_MS,
    // request sent -> best suggestion on screen (what the status line shows)
    suggestion_p50_ms: quantile(lat.map((l) => l.send_to_best_ms), 0.5),
    suggestion_p95_ms: quantile(lat.map((l) => l.send_to_best_ms), 0.95),
    // request sent -> full top-5 menu on screen
    top5_p50_ms: quantile(lat.map((l) => l.send_to_all_ms), 0.5),
    top5_p95_ms: quantile(lat.map((l) => l.send_to_all_ms), 0.95),
    // keystroke -> best suggestion on screen (adds the debounce and any wait for the previous answer)
    keystroke_p50_ms: quantile(lat.map((l) => l.key_to_best_ms), 0.5),
    keystroke_p95_ms: quantile(lat.map((l) => l.key_to_best_ms), 0.95),
    last_suggestions: lat.length ? lat.at(-1).suggestions : [],
  };
  if (screenshot) {
    await page.waitForSelector("#menu:not([hidden])", { timeout: 3000 }).catch(() => {});
    await page.screenshot({ path: screenshot });
    report.screenshot = screenshot;
  }

  // 3. each prefix typed whole: the menu shown for a fresh answer to it
  const answered = (p) => page.waitForFunction((q) => {
    const st = window.__sqlc.state;
    return st.shownFor && st.shownFor.prefix === q && window.__sqlc.latencies.some((l) => l.prefix === q && !l.stale);
  }, p, { timeout: 10000 });
  const shownMenu = (p) => page.evaluate((q) => ({
    prefix: q,
    suggestions: window.__sqlc.latencies.findLast((l) => l.prefix === q && !l.stale).suggestions,
    labels: [...document.querySelectorAll("#menu li")].map((li) => li.textContent),
    titles: [...document.querySelectorAll("#menu li")].map((li) => li.title),
  }), p);
  if (menusPath) {
    report.menus = [];
    for (const p of JSON.parse(readFileSync(menusPath, "utf8"))) {
      await page.fill("#sql", p);
      await answered(p);
      report.menus.push(await shownMenu(p));
    }
    // a menu of long items at the right end of a long line, in a narrow viewport: inside it, each item
    // cut with an ellipsis where it must be, its whole text on hover
    await page.setViewportSize({ width: 560, height: 420 });
    const long = "SELECT name, email, created_at, customer_id FROM customers WHERE name = 'Ann' AND ";
    await page.fill("#sql", long);
    await answered(long);
    await page.waitForSelector("#menu:not([hidden])", { timeout: 3000 });
    report.narrow = await page.evaluate(() => {
      const r = document.querySelector("#menu").getBoundingClientRect();
      const items = [...document.querySelectorAll("#menu li")];
      return {
        viewport: [window.innerWidth, window.innerHeight],
        box: [r.left, r.top, r.right, r.bottom],
        cut: items.filter((li) => li.scrollWidth > li.clientWidth).length,
        titled: items.every((li) => li.title && li.title === li.textContent),
      };
    });
    const png = await page.locator("#menu").screenshot({ path: screenshot ? screenshot.replace(/\.png$/, "-menu.png") : undefined });
    report.narrow.shot = [png.readUInt32BE(16), png.readUInt32BE(20)]; // the PNG's IHDR width, height
  }
  report.console_errors = consoleErrors;
  report.ok = report.tab_inserted && (!expectTable || report.names_table) && lat.length > 0 && !consoleErrors.length;
} catch (e) {
  report.ok = false;
  report.error = String(e.message || e).split("\n")[0];
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
process.exit(report.ok ? 0 : 1);
