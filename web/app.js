// The page: a schema box, an SQL editor that shows the best suggestion as ghost text and a top-5
// menu. The model runs in worker.js; this thread only sends the latest editor state (debounced,
// one request in flight, the newest waiting) and draws. User text only ever goes into textContent.
import { menuItem, nameSpelling } from "./menu.js";
import { parseSchema } from "./schema.js";

const DEBOUNCE_MS = 20; // typing bursts coalesce; the worker is never handed a backlog
const SCHEMA_DEBOUNCE_MS = 300;
const N = 5;

const $ = (s) => document.querySelector(s);
const schemaBox = $("#schema"), sql = $("#sql"), menu = $("#menu"), statusLine = $("#status");
const mirror = { root: $(".mirror"), before: $(".mirror .before"), ghost: $(".mirror .ghost"), after: $(".mirror .after") };
const caret = document.createElement("span"); // zero-width marker that places the menu
caret.textContent = "\u200b";
mirror.before.after(caret);

const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
const state = {
  ready: false, seq: 0, inFlight: null, pending: false, timer: 0, schemaTimer: 0, keyAt: 0,
  suggestions: [], selected: 0, shownFor: null, dismissed: false, model: null, schemaInfo: null, last: null,
  answered: null, // the last fresh answer {prefix, suffix, suggestions}: asking again for it costs nothing
};
const latencies = []; // one entry per answered request, read by web/test/browser.mjs
window.__sqlc = { latencies, state, accepted: [] };

const editorState = () => ({
  prefix: sql.value.slice(0, sql.selectionStart), suffix: sql.value.slice(sql.selectionEnd),
  collapsed: sql.selectionStart === sql.selectionEnd,
});
const same = (a, b) => a && b && a.prefix === b.prefix && a.suffix === b.suffix;

// ------------------------------------------------------------ requests

function schedule(ms) {
  clearTimeout(state.timer);
  state.timer = setTimeout(send, ms);
}

function send() {
  if (!state.ready) return;
  const ed = editorState();
  if (!ed.collapsed || state.dismissed) return;
  if (state.inFlight) { // the newest state goes when the current answer is in
    state.pending = !same(ed, state.inFlight);
    return;
  }
  if (same(ed, state.answered)) return show(state.answered.suggestions, state.answered);
  const req = { id: ++state.seq, prefix: ed.prefix, suffix: ed.suffix, keyAt: state.keyAt, sentAt: performance.now() };
  state.inFlight = req;
  worker.postMessage({ type: "complete", id: req.id, schema: schemaBox.value, prefix: req.prefix, suffix: req.suffix, n: N });
}

worker.onmessage = ({ data: msg }) => {
  const now = performance.now();
  const req = state.inFlight;
  if (msg.type === "ready") {
    state.ready = true;
    state.model = msg;
    state.sqlWords = new Set(msg.sqlWords || []);
    window.__sqlc.ready = true;
    window.__sqlc.model = msg;
    worker.postMessage({ type: "schema", schema: schemaBox.value });
    if (sql.value) schedule(0);
  } else if (msg.type === "schema") {
    state.schemaInfo = msg;
  } else if (msg.type === "best" && req && msg.id === req.id) {
    req.bestAt = now;
    if (same(req, editorState()) && !state.dismissed) show([msg.text], req);
  } else if (msg.type === "result" && req && msg.id === req.id) {
    state.inFlight = null;
    const entry = {
      id: req.id, prefix: req.prefix, suggestions: msg.suggestions, worker_ms: msg.ms,
      send_to_best_ms: (req.bestAt || now) - req.sentAt, send_to_all_ms: now - req.sentAt,
      key_to_best_ms: (req.bestAt || now) - req.keyAt, stale: !same(req, editorState()),
    };
    latencies.push(entry);
    state.last = entry;
    if (!entry.stale) state.answered = { prefix: req.prefix, suffix: req.suffix, suggestions: msg.suggestions };
    if (!entry.stale && !state.dismissed) show(msg.suggestions, req);
    if (state.pending) {
      state.pending = false;
      send();
    }
  } else if (msg.type === "error") {
    if (req && msg.id === req.id) state.inFlight = null;
    statusLine.classList.add("error");
    statusLine.textContent = `Error: ${msg.message}`;
    return;
  }
  renderStatus();
};
worker.onerror = (e) => {
  statusLine.classList.add("error");
  statusLine.textContent = `The model worker failed: ${e.message || "see the console"}`;
};
const params = new URLSearchParams(location.search); // ?model=int8, ?ngram=none (the model alone)
worker.postMessage({ type: "load", variant: params.get("model") || "", ngram: params.get("ngram") || "" });

// ------------------------------------------------------------ drawing

function show(suggestions, req) {
  const keep = state.suggestions[state.selected];
  state.suggestions = suggestions;
  state.selected = Math.max(0, suggestions.indexOf(keep)); // a menu arriving after the ghost keeps the choice
  state.shownFor = { prefix: req.prefix, suffix: req.suffix };
  render();
}

function clearSuggestions() {
  state.suggestions = [];
  state.shownFor = null;
  render();
}

const visible = () => state.suggestions.length > 0 && !state.dismissed && editorState().collapsed;
let spelled = { schema: null, names: new Map() }; // the schema's names as it writes them, per schema text
const spelling = () => {
  if (spelled.schema !== schemaBox.value) spelled = { schema: schemaBox.value, names: nameSpelling(parseSchema(schemaBox.value)) };
  return spelled.names;
};

function render() {
  const { prefix, suffix } = editorState();
  let ghost = visible() ? state.suggestions[state.selected] : "";
  const restOfLine = suffix.split("\n", 1)[0];
  if (restOfLine.trim()) ghost = ""; // a textarea cannot move the text after the cursor aside
  else if (suffix.trim()) ghost = ghost.split("\n", 1)[0];
  mirror.before.textContent = prefix;
  mirror.ghost.textContent = ghost;
  mirror.after.textContent = suffix + "\u200b"; // keeps a trailing empty line as tall as the textarea's
  mirror.root.scrollTop = sql.scrollTop;
  menu.replaceChildren();
  menu.hidden = !visible();
  if (menu.hidden) return;
  state.suggestions.forEach((s, i) => {
    // the whole word being completed (the typed part dimmed) with what follows; Tab inserts only `s`
    const item = menuItem(prefix, s, spelling(), state.sqlWords);
    const li = document.createElement("li");
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", String(i === state.selected));
    li.title = item.label; // a long item is cut short with an ellipsis: the whole of it on hover
    const t = document.createElement("span");
    t.className = "typed";
    t.textContent = item.label.slice(0, item.word.length);
    li.append(t, document.createTextNode(item.label.slice(item.word.length)));
    li.addEventListener("mousedown", (e) => {
      e.preventDefault(); // keep the editor focused
      accept(i);
    });
    menu.append(li);
  });
  // at the caret, but inside the viewport: shifted left where it would pass the right edge, and above
  // the caret where there is no room below
  const box = sql.parentElement.getBoundingClientRect(), at = caret.getBoundingClientRect();
  const margin = 8, width = menu.offsetWidth, height = menu.offsetHeight;
  const left = Math.min(at.left, window.innerWidth - margin - width);
  menu.style.left = `${Math.max(left, margin) - box.left}px`;
  const below = at.bottom + 2 + height <= window.innerHeight - margin || at.top - 2 - height < margin;
  menu.style.top = `${(below ? at.bottom + 2 : at.top - 2 - height) - box.top}px`;
}

function renderStatus() {
  statusLine.classList.remove("error");
  const m = state.model, s = state.schemaInfo, last = state.last;
  if (!m) return;
  const ngram = m.ngram ? ` + n-gram${m.ngram > 1 ? ` (${(m.ngram / 1e6).toFixed(1)} MB)` : ""}` : "";
  const parts = [`${m.variant} model (${(m.bytes / 1e6).toFixed(1)} MB)${ngram} loaded in ${Math.round(m.ms)} ms`];
  if (s) parts.push(`schema: ${s.tokens} tokens cached${s.prefilled ? ` (prefill ${Math.round(s.ms)} ms)` : ""}`);
  if (last) {
    const recent = latencies.filter((l) => !l.stale).slice(-50).map((l) => l.send_to_best_ms).sort((a, b) => a - b);
    const p50 = recent.length ? recent[recent.length >> 1] : 0;
    parts.push(`suggestion in ${Math.round(last.send_to_best_ms)} ms, top ${N} in ${Math.round(last.send_to_all_ms)} ms` +
               ` (median ${Math.round(p50)} ms over ${recent.length})`);
  }
  statusLine.textContent = parts.join(" \u00b7 ");
}

// ------------------------------------------------------------ editing

function accept(i) {
  const text = state.suggestions[i];
  if (text === undefined) return;
  sql.setRangeText(text, sql.selectionStart, sql.selectionEnd, "end");
  window.__sqlc.accepted.push(text);
  edited();
}

// typing the first letters of the ghost keeps the rest of it on screen until the new answer
function typeThrough() {
  const ed = editorState(), shown = state.shownFor;
  if (!shown || shown.suffix !== ed.suffix || !ed.prefix.startsWith(shown.prefix)) return clearSuggestions();
  const typed = ed.prefix.slice(shown.prefix.length);
  const rest = state.suggestions.filter((s) => s.startsWith(typed) && s.length > typed.length).map((s) => s.slice(typed.length));
  if (!rest.length) return clearSuggestions();
  state.suggestions = rest;
  state.selected = 0;
  state.shownFor = { prefix: ed.prefix, suffix: ed.suffix };
  render();
}

function edited() {
  state.keyAt = performance.now();
  state.dismissed = false;
  typeThrough();
  schedule(DEBOUNCE_MS);
}

sql.addEventListener("input", edited);
sql.addEventListener("scroll", () => (mirror.root.scrollTop = sql.scrollTop));
sql.addEventListener("keydown", (e) => {
  if (e.key === " " && e.ctrlKey) { // ask again, also after Esc
    e.preventDefault();
    state.dismissed = false;
    state.keyAt = performance.now();
    schedule(0);
    return;
  }
  if (!visible()) return;
  const plain = !e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey;
  if ((e.key === "Tab" || e.key === "Enter") && plain) {
    e.preventDefault();
    accept(state.selected);
  } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    e.preventDefault();
    const n = state.suggestions.length;
    state.selected = (state.selected + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
    render();
  } else if (e.key === "Escape") {
    e.preventDefault();
    state.dismissed = true;
    render();
  }
});
// moving the cursor without typing: suggestions for the new place
const moved = () => {
  const ed = editorState();
  if (same(ed, state.shownFor) || same(ed, state.inFlight)) return;
  clearSuggestions();
  if (ed.collapsed && !state.dismissed) schedule(DEBOUNCE_MS);
};
sql.addEventListener("keyup", (e) => { if (e.key.startsWith("Arrow") || e.key === "Home" || e.key === "End") moved(); });
sql.addEventListener("mouseup", moved);
sql.addEventListener("blur", () => { menu.hidden = true; });
sql.addEventListener("focus", render);

schemaBox.addEventListener("input", () => {
  state.answered = null;
  clearSuggestions();
  clearTimeout(state.schemaTimer);
  state.schemaTimer = setTimeout(() => {
    if (!state.ready) return;
    worker.postMessage({ type: "schema", schema: schemaBox.value, prefix: sql.value });
    if (sql.value) schedule(0);
  }, SCHEMA_DEBOUNCE_MS);
});

render();
