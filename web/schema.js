// Schema helpers of the completer, as in Python: parse_schema (datagen/sqlcheck.py), fit_schema and
// names_in (prepare.py), and sample.py's SchemaLexicon, the copy bias that keeps generated
// identifiers on the schema's names.

const W = "[\\p{L}\\p{N}_]"; // Python's \w
// Python's str.isspace() characters (its re's \s, used by strip()); JS \s differs slightly
export const PY_SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const NAME = `(?:[\`"]|${W})+|"[^"]+"`;
const CREATE = new RegExp(`create\\s+table\\s+(?:if\\s+not\\s+exists\\s+)?((?:${NAME})(?:\\.(?:${NAME}))*)\\s*[({]`, "giu");
const SQL_UNITS = /'(?:[^']|'')*'?|"[^"]*"?|`[^`]*`?|--[^\n]*|\/\*.*?(?:\*\/|$)|[A-Za-z_][A-Za-z0-9_$]*/gs;
const NOT_COLUMNS = new Set(["primary", "foreign", "constraint", "unique", "index", "key", "check", "family", "inverted", "exclude"]);
const IDENT = /[A-Za-z_][A-Za-z0-9_$]*/g;
export const cpLen = (s) => [...s].length;
export const identifiers = (text) => text.match(IDENT) || [];
// the scorer's tokens; Python's \d is any Unicode digit and its \S any character but str.isspace()'s
export const TOKEN = new RegExp(`[A-Za-z_][A-Za-z0-9_]*|\\p{Nd}+(?:\\.\\p{Nd}+)?|'(?:[^']|'')*'|"[^"]*"|[^${PY_SPACE}]`, "gu");
const SHORT_ALIAS = /^[a-z]\d*$/; // T1, t2, c: short aliases are fine anywhere (the scorer's rule)
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/** The lowercase words of these texts (a schema, the statement typed so far): names a suggestion may use. */
export const knownWords = (...texts) => new Set(texts.flatMap(identifiers).map((w) => w.toLowerCase()));

/** Whether a suggestion may name `word`: one of `known`, a word of SQL, or a short alias. sqlschema.is_known. */
export function isKnown(word, known, sqlWords) {
  const low = word.toLowerCase();
  return known.has(low) || sqlWords.has(low) || SHORT_ALIAS.test(low);
}

/** Where `text` (a suggestion continuing `lead`, the partly typed word or an open quote) first names
 * something found nowhere: the offset to cut it at (only blanks are left when that is its first word),
 * or -1. Names inside string literals do not count; a name right after AS, past the first word, is an alias the suggestion
 * defines. sqlschema.invented_at. */
export function inventedAt(text, known, sqlWords, lead = "") {
  const full = lead + text;
  let first = true, defining = false;
  for (const m of full.matchAll(TOKEN)) {
    const tok = m[0];
    if (tok === "'" || tok === '"') return -1; // an unclosed literal or quoted name: the rest is inside it
    if (m.index + tok.length > lead.length) {
      const word = tok[0] === '"' ? tok.slice(1, -1) : tok;
      if (PLAIN_NAME.test(word) && !isKnown(word, known, sqlWords)) {
        if (first || !defining) return Math.max(m.index - lead.length, 0);
        known = new Set([...known, word.toLowerCase()]);
      }
      first = false;
    }
    defining = tok.toLowerCase() === "as";
  }
  return -1;
}

function bodyEnd(text, start) {
  let depth = 1, quote = "", i = start;
  for (; i < text.length && depth; i++) {
    const ch = text[i];
    if (quote) { if (ch === quote) quote = ""; }
    else if ("'\"`".includes(ch)) quote = ch;
    else if (ch === "(" || ch === "{") depth++; // some LLM-written schemas wrap the columns in braces
    else if (ch === ")" || ch === "}") depth--;
  }
  return i;
}

function splitTopLevel(body) {
  const items = [];
  let depth = 0, start = 0, quote = "";
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (quote) { if (ch === quote) quote = ""; }
    else if ("'\"`".includes(ch)) quote = ch;
    else if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (ch === "," && depth === 0) { items.push(body.slice(start, i)); start = i + 1; }
  }
  items.push(body.slice(start));
  return items;
}

const unquote = (name) => name.trim().replace(/^[`"[\]]+|[`"[\]]+$/g, "");

/** Tables of a schema as a Map table -> [columns] in schema order. */
export function parseSchema(schema) {
  const tables = new Map();
  for (const m of schema.matchAll(CREATE)) {
    const start = m.index + m[0].length;
    const columns = [];
    for (const item of splitTopLevel(schema.slice(start, bodyEnd(schema, start) - 1))) {
      const w = item.match(/^\s*("[^"]+"|`[^`]+`|\[[^\]]+\]|[\p{L}\p{N}_]+)/u);
      if (!w) continue;
      const name = unquote(w[1]);
      if (!"\"`[".includes(w[1][0]) && NOT_COLUMNS.has(name.toLowerCase())) continue;
      if (!columns.includes(name)) columns.push(name);
    }
    const table = unquote(m[1].split(/\.(?=(?:[^"]*"[^"]*")*[^"]*$)/).at(-1));
    if (columns.length) tables.set(table, columns);
  }
  return tables;
}

const NAME_ITEM = `(?:"[^"]+"|\`[^\`]+\`|\\[[^\\]]+\\]|${W}+)`;
const REFERENCES = new RegExp(`\\breferences\\s+((?:${NAME_ITEM}\\s*\\.\\s*)*${NAME_ITEM})\\s*(?:\\(([^)]*)\\))?`, "iu");
const FOREIGN_KEY = /\bforeign\s+key\s*\(([^)]*)\)/iu;
const COLUMN_AND_TYPE = new RegExp(`^\\s*(${NAME_ITEM})\\s*([A-Za-z_]${W}*)?`, "u");

/** Each column's type word (lowercase, "" when none) as a Map table -> Map column -> type, and the
 * foreign keys as [table, column, referenced table, referenced column or ""]. sqlschema.column_types. */
export function columnTypes(schema) {
  const types = new Map(), fkeys = [];
  for (const m of schema.matchAll(CREATE)) {
    const start = m.index + m[0].length;
    const table = unquote(m[1].split(/\.(?=(?:[^"]*"[^"]*")*[^"]*$)/).at(-1));
    if (!types.has(table)) types.set(table, new Map());
    const cols = types.get(table);
    for (const item of splitTopLevel(schema.slice(start, bodyEnd(schema, start) - 1))) {
      const ref = item.match(REFERENCES);
      const refTable = ref ? unquote(ref[1].split(/\s*\.\s*/).at(-1)) : "";
      const refCols = ref ? splitTopLevel(ref[2] || "").map(unquote) : [];
      const fk = item.match(FOREIGN_KEY);
      if (fk && ref) {
        splitTopLevel(fk[1]).forEach((c, i) => fkeys.push([table, unquote(c), refTable, i < refCols.length ? refCols[i] : ""]));
        continue;
      }
      const w = item.match(COLUMN_AND_TYPE);
      if (!w || (!"\"`[".includes(w[1][0]) && NOT_COLUMNS.has(w[1].toLowerCase()))) continue;
      const name = unquote(w[1]);
      if (!cols.has(name)) cols.set(name, (w[2] || "").toLowerCase());
      if (ref) fkeys.push([table, name, refTable, refCols[0]]);
    }
  }
  return [types, fkeys];
}

function splitTables(schema) {
  return [...schema.matchAll(CREATE)].map((m) => {
    let end = bodyEnd(schema, m.index + m[0].length);
    if (schema[end] === ";") end++;
    return schema.slice(m.index, end);
  });
}

export function namesIn(sql) {
  const names = new Set();
  for (const [u] of sql.matchAll(SQL_UNITS)) if (!"'\"`-/".includes(u[0])) names.add(u.toLowerCase());
  for (const [q] of sql.matchAll(/"[^"]+"/g)) names.add(q.slice(1, -1).toLowerCase());
  return names;
}

/** Drop whole tables, those not named in `keepNames` first (last first), until the schema fits. */
export function fitSchema(schema, keepNames, budgetChars) {
  if (cpLen(schema) <= budgetChars) return schema;
  const parts = splitTables(schema);
  if (!parts.length) return schema;
  const keep = new Set([...keepNames].map((n) => n.toLowerCase()));
  const names = parts.map((p) => ([...parseSchema(p).keys()][0] || "").toLowerCase());
  const order = parts.map((_, i) => i).sort((a, b) => (keep.has(names[a]) - keep.has(names[b])) || b - a);
  const kept = new Set(parts.keys());
  let total = parts.reduce((n, p) => n + cpLen(p) + 2, 0);
  for (const i of order) {
    if (total <= budgetChars || kept.size === 1) break;
    kept.delete(i);
    total -= cpLen(parts[i]) + 2;
  }
  return [...kept].sort((a, b) => a - b).map((i) => parts[i]).join("\n\n");
}

// sample.py's _IDENT_TAIL
export const IDENT_TAIL = /[A-Za-z0-9_$]*$/;
const IDENT_CHAR = /[A-Za-z0-9_$]/;
export const MAX_WORD_CHARS = 64; // longer words are not lexicon words: their prefixes would cost memory by the square

/** The identifier characters at the end of `text` (sample.ident_tail: a loop, where a regex would rescan a
 * long word from each of its characters). */
export function identTail(text) {
  let i = text.length;
  while (i > 0 && IDENT_CHAR.test(text[i - 1])) i--;
  return text.slice(i);
}

/** (partial identifier at the end of `text`, lowercased; whether the end is inside a string literal). */
export function textState(text) {
  const inString = (text.match(/'/g) || []).length % 2 === 1;
  return [inString ? "" : text.match(IDENT_TAIL)[0].toLowerCase(), inString];
}

const prefixesOf = (w) => Array.from({ length: w.length }, (_, i) => w.slice(0, i + 1));

/** sample.py's SchemaLexicon: while an identifier is generated, a token that extends it towards a
 * schema name gets +bonus; one that makes it (or ends it as) a 3+ character word found nowhere
 * (schema, SQL words, words already typed) gets -penalty. */
export class SchemaLexicon {
  constructor(pieceBytes, { bonus, penalty, sql_words: sqlWords }) {
    Object.assign(this, { bonus, penalty, sqlWords });
    const dec = new TextDecoder(); // errors="replace", as sample.py decodes pieces here
    this.shapes = pieceBytes.map((b) => {
      const text = b ? dec.decode(Uint8Array.from(b)) : "";
      const space = text.startsWith(" ");
      const body = space ? text.slice(1) : text;
      const ident = body.match(/^[A-Za-z0-9_$]*/)[0].toLowerCase();
      return { space, ident, ends: body.length > ident.length, breaks: text !== "" && !ident };
    });
    this.schemaPrefixes = new Set();
    this.words = new Set();
    this.prefixes = new Set();
    this.cache = new Map();
  }

  setSchema(schema) {
    const names = new Set();
    for (const [table, cols] of parseSchema(schema)) for (const n of [table, ...cols]) names.add(n.toLowerCase());
    this.schemaPrefixes = new Set([...names].filter((n) => cpLen(n) <= MAX_WORD_CHARS).flatMap(prefixesOf));
    this.words = new Set();
    this.prefixes = new Set();
    this.cache = new Map();
    this.addWords([...names, ...this.sqlWords, ...identifiers(schema)]);
  }

  addWords(words) {
    let added = false;
    for (const w of words.filter((x) => cpLen(x) <= MAX_WORD_CHARS).map((x) => x.toLowerCase())) {
      if (this.words.has(w)) continue;
      this.words.add(w);
      for (const p of prefixesOf(w)) this.prefixes.add(p);
      added = true;
    }
    if (added) this.cache.clear();
  }

  /** Additive logits (Float32Array) for the next token after the partial identifier `word`. */
  bias(word) {
    let out = this.cache.get(word);
    if (out) return out;
    out = new Float32Array(this.shapes.length);
    this.shapes.forEach(({ space, ident, ends, breaks }, t) => {
      if (word && (space || breaks) && word.length >= 3 && !this.words.has(word)) { // ends an unknown word
        out[t] -= this.penalty;
        return;
      }
      if (!ident || (/[0-9]/.test(ident[0]) && !(word && !space))) return;
      const cand = word && !space ? word + ident : ident;
      if (/[0-9]/.test(cand[0])) return;
      if (this.schemaPrefixes.has(cand) && (!ends || this.words.has(cand))) out[t] += this.bonus;
      else if (cand.length >= 3 && (!this.prefixes.has(cand) || (ends && !this.words.has(cand)))) out[t] -= this.penalty;
    });
    this.cache.set(word, out);
    return out;
  }
}
