// completion/ngram.py's completion side: the schema-aware 4-gram that proposes the next words which the
// completer's model reranks (web/completer.js). It reads the model that completion/ngram.py saves (web/export.py
// writes it as model/ngram.json.gz) and gives completion/ngram.py's results exactly, ties included: Python's
// dicts and ordered sets iterate in insertion order, as Maps and Sets do here, and both sorts are stable.
import { PY_SPACE, TOKEN, bareName, columnTypes, isKnown, isName, knownWords, parseSchema, quote, spellingOf, stringStart }
  from "./schema.js";

export const BOS = "<s>", EOS = "</s>";
export const TABLE = "<T>", COLUMN = "<C>", QTABLE = '"<T>"', QCOLUMN = '"<C>"';
const STRING = "<S>", NUMBER = "<N>", QUOTED = "<Q>";
const ALIAS = "<A>"; // an alias in the class ranker's context keys
const WORDS = "<W> "; // the class ranker's statistics of names' last words: context keys start with this
const CLASS_CACHE_SIZE = 32; // ranked name lists kept, oldest dropped first
const UNRENDERABLE = new Set([STRING, NUMBER, QUOTED, EOS]);
const CLASSES = new Set([TABLE, COLUMN, QTABLE, QCOLUMN]);
const BASE = { [QTABLE]: TABLE, [QCOLUMN]: COLUMN };
const baseClass = (sym) => BASE[sym] || sym;
const SHORT_ALIAS = /^[a-z]\d*$/; // T1, t2, c: sqlschema.SHORT_ALIAS
const TABLE_CONTEXT = new Set(["from", "join", "into", "update", "table", "truncate", "only"]);
const TYPE_KINDS = ["", "int", "number", "text", "time", "bool", "uuid", "other"];
const pair = (t, c) => `${t}\u0000${c}`;

/** A name's last word, lowercase: created_at -> at, CustomerName -> name ("" when none). ngram.name_tail. */
export function nameTail(name) {
  const m = name.match(/(?:[A-Z]?[a-z0-9]+|[A-Z]+)$/);
  return m ? lower(m[0]) : "";
}

/** Index in TYPE_KINDS of a column's type word (lowercase). ngram.type_kind. */
export function typeKind(t) {
  if (!t) return 0;
  if (t.startsWith("date") || t.startsWith("time") || t === "interval" || t === "year") return 4;
  if (t.includes("int") || t.includes("serial")) return 1;
  if (["dec", "num", "float", "real", "double", "money"].some((x) => t.startsWith(x))) return 2;
  if (t.includes("char") || t.includes("text") || t === "string" || t === "clob") return 3;
  if (t.startsWith("bool") || t === "bit") return 5;
  return t === "uuid" ? 6 : 7;
}
const NOT_ALIAS = new Set(`select from where and or not null is in as on join left right inner outer full cross natural group
by order having limit offset insert into values update set delete truncate table upsert returning distinct case when
then else end like ilike between exists union intersect except all asc desc with using cascade`.split(/\s+/));

// Python's str methods where JS differs: code points, not UTF-16 units; its whitespace; its case tests
const cps = (s) => [...s];
const cpSlice = (s, a, b) => cps(s).slice(a, b).join("");
const rstrip = (s) => s.replace(new RegExp(`[${PY_SPACE}]+$`, "u"), "");
const strip = (s) => rstrip(s).replace(new RegExp(`^[${PY_SPACE}]+`, "u"), "");
const isAlpha = (ch) => /^\p{L}$/u.test(ch);
const isAlnum = (ch) => /^[\p{L}\p{N}]$/u.test(ch);
const isUpper = (s) => s !== s.toLowerCase() && s === s.toUpperCase();
const isLower = (s) => s !== s.toUpperCase() && s === s.toLowerCase();
const lower = (s) => s.toLowerCase();
const setDefault = (map, key, value) => map.has(key) || map.set(key, value);
const greater = (a, b) => { // Python's tuple a > b, for tuples of numbers and booleans
  for (let i = 0; i < a.length; i++) if (Number(a[i]) !== Number(b[i])) return Number(a[i]) > Number(b[i]);
  return false;
};

/** [whitespace before, token] pairs. */
export function tokenize(text) {
  const out = [];
  let pos = 0;
  for (const m of text.matchAll(TOKEN)) {
    out.push([text.slice(pos, m.index), m[0]]);
    pos = m.index + m[0].length;
  }
  return out;
}

/** Tables and columns of one schema, looked up case-insensitively. */
export class Schema {
  constructor(text) {
    const tables = parseSchema(text || "");
    this.tables = [...tables.keys()].map(lower);
    this.spelling = new Map(); // lowercase name -> schema spelling
    this.columns = new Map(); // table -> [columns], lowercase
    this.columnSet = new Set();
    for (const [t, cols] of tables) {
      setDefault(this.spelling, lower(t), t);
      this.columns.set(lower(t), cols.map(lower));
      for (const c of cols) {
        setDefault(this.spelling, lower(c), c);
        this.columnSet.add(lower(c));
      }
    }
    this.tableSet = new Set(this.tables);
    this.columnSets = new Map([...this.columns].map(([t, cols]) => [t, new Set(cols)]));
    this.tails = new Map([...this.spelling].map(([low, name]) => [low, nameTail(name)]));
    // names that must be written quoted (in the schema's style) or qualified (inventory.stock)
    const { quoted, qualified, namespace } = spellingOf(text || "");
    this.quoted = quoted;
    this.qualified = qualified;
    this.written = new Set([...qualified.values()].map(lower));
    this.namespaces = new Map(); // `inventory` -> its tables
    for (const [t, ns] of namespace) (this.namespaces.get(ns) || this.namespaces.set(ns, new Set()).get(ns)).add(t);
    const [types, fkeys] = columnTypes(text || "");
    this.types = new Map([...types].map(([t, cols]) => [lower(t), new Map([...cols].map(([c, k]) => [lower(c), typeKind(k)]))]));
    // foreign keys both ways: table and column -> the tables it references / that reference it
    this.refs = new Map();
    this.referenced = new Map();
    this.tableLinks = new Map();
    const add = (map, key, value) => (map.get(key) || map.set(key, new Set()).get(key)).add(value);
    for (let [t, c, rt, rc] of fkeys) {
      [t, c, rt, rc] = [lower(t), lower(c), lower(rt), lower(rc)];
      if (this.tableSet.has(t) && this.tableSet.has(rt)) {
        add(this.refs, pair(t, c), rt);
        add(this.referenced, pair(rt, rc || this.columns.get(rt)[0]), t);
        add(this.tableLinks, t, rt);
        add(this.tableLinks, rt, t);
      }
    }
  }

  /** The tables of the namespace the statement ends with (`FROM inventory.`), else null. */
  namespaceTables(state) {
    if (state.norms.at(-1) !== "." || state.words.length < 2) return null;
    const qualifier = state.words.at(-2);
    if (state.aliases.has(qualifier) || this.tableSet.has(qualifier)) return null;
    return this.namespaces.get(qualifier) || null;
  }

  /** Whether `text` is a schema name as a suggestion writes it: bare, quoted or qualified. */
  isName(text) {
    const low = lower(strip(text));
    return this.spelling.has(low.replace(/^["`[\]]+|["`[\]]+$/g, "")) || this.written.has(low);
  }

  /** Whether column c of table t joins it to another of `tables`: a foreign key either way, or the same
   * name (other than id). */
  linked(t, c, tables) {
    const refs = this.refs.get(pair(t, c)), referenced = this.referenced.get(pair(t, c));
    return tables.some((u) => u !== t && ((refs && refs.has(u)) || (referenced && referenced.has(u)) ||
      (c !== "id" && (this.columns.get(u) || []).includes(c))));
  }

  /** A token's n-gram symbol: a class for schema names, the lowercase word otherwise. */
  normalize(word, prev) {
    const ch = cps(word)[0];
    if (isAlpha(ch) || ch === "_") {
      const low = lower(word);
      if (this.tableSet.has(low) && (!this.columnSet.has(low) || TABLE_CONTEXT.has(prev))) return TABLE;
      return this.columnSet.has(low) ? COLUMN : low;
    }
    // other digits (isdigit but not \d) only come as one-character tokens, which fall through to `word`
    if (/^\p{Nd}$/u.test(ch)) return cps(word).length <= 3 ? word : NUMBER;
    if (ch === "'") return STRING;
    if (ch === '"') {
      const low = lower(word.slice(1, -1));
      if (this.tableSet.has(low) && (!this.columnSet.has(low) || TABLE_CONTEXT.has(prev))) return QTABLE;
      return this.columnSet.has(low) ? QCOLUMN : QUOTED;
    }
    return word;
  }
}

/** What the statement typed so far says about the schema: tables named, columns used, aliases. */
export class State {
  constructor() {
    this.norms = [];
    this.words = []; // lowercase surface, quotes stripped
    this.tables = [];
    this.used = new Set();
    this.aliases = new Map();
    this.lastCol = null; // [table, column index]
    this.aliasFor = null;
  }

  get kind() {
    return this.norms.length ? this.norms[0] : BOS;
  }

  resolve(name, schema) {
    return this.aliases.get(name) || (schema.tableSet.has(name) ? name : null);
  }

  /** The table of `x.` when the statement ends with an alias or table name and a dot. */
  dotTable(schema) {
    if (this.norms.length >= 2 && this.norms.at(-1) === ".") return this.resolve(this.words.at(-2), schema);
    return null;
  }

  push(surface, norm, schema) {
    const named = CLASSES.has(norm); // written bare, quoted or qualified
    const low = lower(named ? bareName(surface) : surface.replace(/^"+|"+$/g, ""));
    const dot = this.dotTable(schema);
    if (norm === TABLE || norm === QTABLE) {
      if (!this.tables.includes(low)) this.tables.push(low);
      this.aliasFor = low;
    } else if (this.aliasFor && norm === "as") {
      // the alias comes next
    } else if (this.aliasFor && /^[a-z_][a-z0-9_]*$/.test(norm) && !NOT_ALIAS.has(norm)) {
      this.aliases.set(norm, this.aliasFor);
      this.aliasFor = null;
    } else {
      this.aliasFor = null;
    }
    if (norm === COLUMN || norm === QCOLUMN) {
      this.used.add(low);
      const has = (t) => (schema.columns.get(t) || []).includes(low);
      let owners = dot && has(dot) ? [dot] : this.tables.filter(has);
      if (!owners.length) owners = schema.tables.filter((t) => schema.columns.get(t).includes(low));
      this.lastCol = owners.length ? [owners[0], schema.columns.get(owners[0]).indexOf(low)] : null;
    }
    this.norms.push(norm);
    this.words.push(low);
  }

  copy() {
    const c = new State();
    Object.assign(c, { norms: [...this.norms], words: [...this.words], tables: [...this.tables],
      used: new Set(this.used), aliases: new Map(this.aliases), lastCol: this.lastCol, aliasFor: this.aliasFor });
    return c;
  }
}

/** Where an INSERT's cursor is: ["list", table, columns listed so far] inside `INSERT INTO t (...`;
 * ["value", table, the column this value goes to or null] at the start of a VALUES item; else null. */
export function insertSlot(state, schema) {
  const { norms, words } = state;
  if (state.kind !== "insert") return null;
  const i = norms.findIndex((n) => n === TABLE || n === QTABLE);
  if (i < 0) return null;
  const table = words[i];
  let j = i + 1, columns = schema.columns.get(table) || [];
  if (j < norms.length && norms[j] === "(") {
    const listed = [];
    let closed = false;
    for (j = j + 1; j < norms.length; j++) {
      if (norms[j] === ")") { closed = true; break; }
      if (norms[j] === COLUMN || norms[j] === QCOLUMN) listed.push(words[j]);
    }
    if (!closed) return ["list", table, listed];
    columns = listed;
    j += 1;
  }
  const v = norms.indexOf("values", j);
  if (v < 0 || !["(", ","].includes(norms.at(-1))) return null;
  let depth = 0, pos = 0;
  for (const n of norms.slice(v + 1)) {
    if (n === "(") { pos = depth === 0 ? 0 : pos; depth += 1; }
    else if (n === ")") depth -= 1;
    else if (n === "," && depth === 1) pos += 1;
  }
  if (depth !== 1) return null;
  return ["value", table, pos < columns.length ? columns[pos] : null];
}

// the grammar of a next word (completion/ngram.py's sets): where a table must come, where a value of some type
// does, and words that no DML statement has
const KEYWORDS = new Set(`select from where and or not null is in as on join left right inner outer full cross group by
order having limit offset insert into values update set delete truncate table upsert returning distinct case when then
else end like ilike between exists union all asc desc count sum avg min max with conflict do nothing cascade`.split(/\s+/));
const TABLE_WORDS = new Set(["from", "join", "into", "update", "truncate"]);
const FROM_FUNCTIONS = new Set(["extract", "substring", "trim", "position", "overlay"]); // EXTRACT(YEAR FROM x)
const AT_TABLE = new Set([TABLE, QTABLE, "(", "`", "[", "lateral", "only", "table", "generate_series", "unnest"]);
const IN_COLUMN_LIST = new Set([COLUMN, QCOLUMN, ",", ")"]); // INSERT INTO t (...: what the list holds
const DML = new Set(["select", "insert", "update", "delete", "with", "upsert", "replace"]);
const TYPE_NAMES = new Set(`int int2 int4 int8 integer bigint smallint tinyint serial bigserial decimal numeric float float4
float8 real double precision text varchar char string bool boolean timestamptz uuid jsonb json bytes bytea`.split(/\s+/));
const CASTS = new Set(["cast", "try_cast", "convert"]);
const DDL_WORDS = new Set("primary foreign references check index create alter drop add column family restrict unique".split(" "));
const COMPARED = new Set(["=", "<", ">", "!"]);
const LITERALS = new Set([STRING, NUMBER, "true", "false", "null", "-", ","]); // and numbers of 1-3 digits
const isLiteral = (sym) => LITERALS.has(sym) || /^[0-9]/.test(sym);
const WRONG_LITERALS = {
  text: new Set(["number", "true", "false", "-"]), time: new Set(["number", "true", "false", "-"]),
  uuid: new Set(["number", "true", "false", "-"]), int: new Set([STRING, "true", "false"]),
  number: new Set([STRING, "true", "false"]), bool: new Set([STRING]),
};

/** The symbol before the innermost `(` still open (BOS when it opens the statement), or null. ngram.paren_owner. */
export function parenOwner(norms) {
  let depth = 0;
  for (let i = norms.length - 1; i >= 0; i--) {
    if (norms[i] === ")") depth += 1;
    else if (norms[i] === "(") {
      if (depth === 0) return i ? norms[i - 1] : BOS;
      depth -= 1;
    }
  }
  return null;
}

/** Whether a table must come next (ngram.at_table). */
export function atTable(state) {
  const norms = state.norms;
  return norms.length > 0 && TABLE_WORDS.has(norms.at(-1)) && norms.at(-2) !== "distinct" &&
    !FROM_FUNCTIONS.has(parenOwner(norms));
}

/** [table, column] whose value comes next (ngram.value_column), or null. */
export function valueColumn(state, schema) {
  const norms = state.norms;
  const slot = insertSlot(state, schema);
  if (slot) return slot[0] === "value" && slot[2] ? [slot[1], slot[2]] : null;
  let j = norms.length - 1;
  if (j >= 0 && COMPARED.has(norms[j])) {
    while (j > 0 && COMPARED.has(norms[j])) j -= 1;
  } else if (j >= 0 && (norms[j] === "(" || norms[j] === ",")) { // an IN list of literals so far
    while (j > 0 && norms[j] !== "(" && isLiteral(norms[j])) j -= 1;
    if (norms[j] !== "(" || j < 2 || norms[j - 1] !== "in") return null;
    j -= norms[j - 2] === "not" ? 3 : 2;
  } else if (j >= 1 && norms[j] === "between") {
    j -= j >= 2 && norms[j - 1] === "not" ? 2 : 1;
  } else if (j >= 3 && norms[j] === "and" && norms[j - 2] === "between" && isLiteral(norms[j - 1])) {
    j -= 3 + (norms[j - 3] === "not" ? 1 : 0);
  } else return null;
  if (j < 0 || (norms[j] !== COLUMN && norms[j] !== QCOLUMN) || !state.lastCol) return null;
  const [t, c] = state.lastCol;
  return [t, schema.columns.get(t)[c]];
}

/** The next symbols (a Set) the statement allows (ngram.constrain): where a table must come, a table, a
 * name typed before or `(`; a full INSERT column list closes; a value gets a literal of its column's type;
 * no type name outside a cast and no word of DDL in a DML statement. */
export function constrain(state, schema, syms) {
  const prev = state.norms.length ? state.norms.at(-1) : BOS;
  const keep = (test) => new Set([...syms].filter(test));
  if (atTable(state)) {
    const typed = new Set(state.words.filter((w) => !schema.columnSet.has(w) && !KEYWORDS.has(w)));
    return keep((s) => AT_TABLE.has(s) || typed.has(s));
  }
  const slot = insertSlot(state, schema);
  if (slot && slot[0] === "list" && schema.tableSet.has(slot[1])) { // the table's columns, `,`, `)`
    const full = schema.columns.get(slot[1]).every((c) => slot[2].includes(c));
    if (full && (prev === COLUMN || prev === QCOLUMN)) return new Set([...keep((s) => s !== "," && IN_COLUMN_LIST.has(s)), ")"]);
    return keep((s) => IN_COLUMN_LIST.has(s));
  }
  if (DML.has(state.kind)) {
    const cast = prev === ":" || CASTS.has(parenOwner(state.norms));
    syms = keep((s) => !DDL_WORDS.has(s) && (cast || !TYPE_NAMES.has(s)));
  }
  const column = valueColumn(state, schema);
  const kind = column ? TYPE_KINDS[schema.types.get(column[0])?.get(column[1]) ?? 0] : "";
  const wrong = WRONG_LITERALS[kind];
  if (!wrong) return syms;
  return new Set([...syms].filter((s) => !wrong.has(s) && !(wrong.has("number") && (s === NUMBER || /^[0-9]/.test(s)))));
}

/** Candidate column -> [relation to the statement's tables, used, next in schema order, first column, looks
 * like a key, type kind, joins its table to another named one, the last column's name in another table,
 * its table holds every column used so far]. */
export function columnFeatures(state, schema) {
  const dot = state.dotTable(schema);
  const last = state.lastCol ? schema.columns.get(state.lastCol[0])[state.lastCol[1]] : null;
  const out = new Map();
  for (const t of schema.tables) {
    if (dot && t !== dot) continue;
    const rel = t === dot ? 2 : state.tables.includes(t) ? 1 : 0;
    const cset = schema.columnSets.get(t);
    const holds = state.used.size > 0 && [...state.used].every((c) => cset.has(c));
    schema.columns.get(t).forEach((c, j) => {
      const next = state.lastCol !== null && state.lastCol[0] === t && state.lastCol[1] === j - 1;
      const f = [rel, state.used.has(c), next, j === 0, c.endsWith("id"), schema.types.get(t)?.get(c) ?? 0,
        rel > 0 && schema.linked(t, c, state.tables), c === last && t !== state.lastCol[0], holds];
      if (!out.has(c) || greater(f, out.get(c))) out.set(c, f);
    });
  }
  return out;
}

/** Candidate table -> [used, holds the columns typed outside named tables, first table, shares a
 * column name other than id with a named table, a foreign key joins it to a named table, last table]. */
export function tableFeatures(state, schema) {
  const inNamed = (c) => state.tables.some((t) => (schema.columns.get(t) || []).includes(c));
  const pending = [...state.used].filter((c) => !inNamed(c));
  const named = new Set(state.tables.flatMap((t) => schema.columns.get(t) || []));
  named.delete("id");
  const out = new Map();
  schema.tables.forEach((t, i) => {
    const cols = schema.columns.get(t);
    const has = pending.filter((c) => cols.includes(c)).length;
    const cover = !pending.length ? 3 : has === pending.length ? 2 : has ? 1 : 0;
    const used = state.tables.includes(t);
    const links = schema.tableLinks.get(t);
    out.set(t, [used, cover, i === 0, !used && cols.some((c) => named.has(c)),
      !used && Boolean(links) && state.tables.some((u) => links.has(u)), i === schema.tables.length - 1]);
  });
  return out;
}

/** Context keys for the class ranker, most specific first: the last two symbols before any `alias.` (an alias
 * as ALIAS), then the statement kind and the last symbol. */
export function rankBuckets(state) {
  const norms = state.norms;
  const dot = norms.length > 1 && norms.at(-1) === ".";
  const core = (dot ? norms.slice(Math.max(norms.length - 4, 0), -2) : norms.slice(-2)).map((n) => (state.aliases.has(n) ? ALIAS : n));
  const prev = norms.length ? norms.at(-1) : BOS, p1 = core.length ? core.at(-1) : BOS;
  const p2 = core.length > 1 ? core.at(-2) : BOS;
  return [`${state.kind} ${p2} ${p1}${dot ? " ." : ""}`, `${state.kind} ${prev}`, prev, ""];
}

export const fkey = (f) => f.map((x) => String(Number(x))).join("");

/** A model file's bytes (gzipped or plain JSON) to the object completion/ngram.py saved. */
export async function readModel(bytes) {
  bytes = new Uint8Array(bytes);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) { // a server that sent Content-Encoding has unpacked it already
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  }
  return JSON.parse(new TextDecoder().decode(bytes));
}

// the model's objects as parsed (converting 100,000s of contexts to Maps would double the load time);
// own keys only, so that words such as "constructor" are not found on Object.prototype
const get = (obj, key) => (obj && Object.hasOwn(obj, key) ? obj[key] : undefined);

/** completion/ngram.py's NgramCompleter: setSchema(schema), proposals(prefix, suffix, n), complete(prefix, suffix, n). */
export class NgramCompleter {
  constructor(model, { maxTokens = 8, minProb = 0.2 } = {}) {
    this.order = model.order;
    this.ngrams = model.ngrams;
    this.wsNext = model.ws_next;
    this.wsPair = model.ws_pair;
    this.spelling = model.spelling;
    this.rank = model.rank;
    if (!model.sql_vocabulary) throw new Error("the n-gram file has no sql_vocabulary: export it again with web/export.py");
    this.sqlWords = new Set(model.sql_vocabulary); // SQL's keywords, functions and types: never invented names
    this.maxTokens = maxTokens;
    this.minProb = minProb; // a continuation stops before a token less likely than this
    const [total, , uni] = this.ngrams[0][""];
    this.unigram = new Map(uni.map(([w, c]) => [w, c / total]));
    this.floor = 0.5 / total;
    this.frequent = uni.slice(0, 50).map(([w]) => w);
    this.byStart = new Map(); // first 1 and 2 characters -> words, most frequent first
    const add = (key, w) => (this.byStart.get(key) || this.byStart.set(key, []).get(key)).push(w);
    for (const [w] of uni) {
      const chars = cps(w);
      if (isAlnum(chars[0]) || chars[0] === "_") {
        add(chars[0], w);
        if (chars.length > 1) add(chars[0] + chars[1], w);
      }
    }
    this.schemaText = null;
    this.setSchema("");
  }

  /** Use this schema (CREATE TABLE statements; may be empty) for the following completions. */
  setSchema(schema) {
    if (this.schemaText !== schema) {
      this.schemaText = schema;
      this.schema = new Schema(schema);
      this.schemaWords = knownWords(schema); // every word of the schema text is a real name
      this.classCache = new Map();
    }
  }

  // -------------------------------------------------------- probabilities

  /** Interpolated (Witten-Bell) P(word | the last order-1 symbols of ctx), as a Map in the order of `words`. */
  prob(ctx, words) {
    const p = new Map();
    for (const w of words) p.set(w, this.unigram.has(w) ? this.unigram.get(w) : this.floor);
    for (let n = 1; n < this.order; n++) {
      if (ctx.length < n) break;
      const entry = get(this.ngrams[n], ctx.slice(-n).join(" "));
      if (entry === undefined) break; // a longer context is unseen too
      const [total, distinct, best] = entry;
      const c = new Map(best);
      for (const [w, pw] of p) p.set(w, ((c.get(w) || 0) + distinct * pw) / (total + distinct));
    }
    return p;
  }

  /** Symbols seen after the context's last 1, 2, ... symbols (an ordered Set). */
  candidates(ctx) {
    const out = new Set();
    for (let n = 1; n < this.order; n++) {
      const entry = ctx.length >= n ? get(this.ngrams[n], ctx.slice(-n).join(" ")) : undefined;
      if (entry === undefined) break;
      for (const [w] of entry[2]) out.add(w);
    }
    return out.size ? out : new Set(this.frequent);
  }

  /** Schema names for a class, with P(name | class) from the feature hit rates: [[name, p], ...] best first
   * (do not modify the list). Once per statement state, as completion/ngram.py's: typing a word re-ranks nothing. */
  classNames(cls, state) {
    const key = JSON.stringify([cls, state.norms, state.words]);
    if (!this.classCache.has(key)) {
      if (this.classCache.size >= CLASS_CACHE_SIZE) this.classCache.delete(this.classCache.keys().next().value);
      this.classCache.set(key, this.rankClassNames(cls, state));
    }
    return this.classCache.get(key);
  }

  rankClassNames(cls, state) {
    let feats = (cls === TABLE ? tableFeatures : columnFeatures)(state, this.schema);
    const slot = cls === COLUMN ? insertSlot(state, this.schema) : null;
    if (slot && slot[0] === "list" && this.schema.tableSet.has(slot[1])) { // the table's columns not yet listed
      const cset = this.schema.columnSets.get(slot[1]);
      feats = new Map([...feats].filter(([c]) => cset.has(c) && !slot[2].includes(c)));
    }
    if (!feats.size) return [];
    const table = get(this.rank, cls);
    let rates;
    for (const b of rankBuckets(state)) {
      rates = get(table, b);
      if (rates && Object.values(rates).reduce((n, hc) => n + hc[1], 0) >= 50) break;
    }
    // no bucket with 50 candidates: the last one's, as in completion/ngram.py
    const scores = new Map();
    for (const [name, f] of feats) {
      const [hits, cands] = get(rates, fkey(f)) || [0, 0];
      scores.set(name, (hits + 0.01) / (cands + 1));
    }
    // times how much likelier than its peers a name's last word is; not after `alias.`
    for (const b of state.norms.at(-1) === "." ? [] : rankBuckets(state).slice(1)) {
      const words = get(table, WORDS + b);
      if (words && words["*"][1] >= 1000) {
        const rate = words["*"][0] / words["*"][1];
        for (const [name, s] of scores) {
          const [hits, cands] = get(words, this.schema.tails.get(name)) || [0, 0];
          scores.set(name, s * ((hits + 20 * rate) / ((cands + 20) * rate)));
        }
        break;
      }
    }
    let z = 0;
    for (const s of scores.values()) z += s;
    const order = new Map([...feats.keys()].map((name, i) => [name, i]));
    return [...scores].map(([name, s]) => [name, s / z])
      .sort((a, b) => (a[1] > b[1] ? -1 : a[1] < b[1] ? 1 : order.get(a[0]) - order.get(b[0])));
  }

  /** [probability, symbol, surface] of the next token, best first; with `partial`, only those that continue it;
   * after `opener` (a quote typed before `partial`: " ` [) only names, quoted in its style. */
  ranked(state, ctx, partial = "", opener = "") {
    let syms = this.candidates(ctx);
    const low = lower(partial);
    if (partial) {
      for (const w of (this.byStart.get(cpSlice(low, 0, 2)) || []).slice(0, 300)) if (w.startsWith(low)) syms.add(w);
      syms.add(TABLE);
      syms.add(COLUMN);
    }
    syms = constrain(state, this.schema, syms); // a partly typed word's completion too
    const inNamespace = this.schema.namespaceTables(state);
    if (inNamespace !== null) syms = new Set([TABLE]); // `inventory.`: one of its tables
    const out = [], namesOf = new Map();
    for (const [sym, ps] of this.prob(ctx, syms)) {
      if (CLASSES.has(sym)) {
        const base = baseClass(sym);
        if (partial && sym[0] === '"') continue;
        if (!namesOf.has(base)) {
          namesOf.set(base, this.classNames(base, state).filter(([name]) => inNamespace === null || inNamespace.has(name)));
        }
        const afterDot = state.norms.at(-1) === ".";
        for (const [name, pn] of namesOf.get(base)) {
          // a name that must be quoted or qualified continues only what starts so
          const surface = opener ? quote(this.schema.spelling.get(name), opener) : this.render(sym, name, afterDot);
          if (!partial || lower(surface).startsWith(opener + low)) out.push([ps * pn, sym, surface]);
        }
      } else if (opener) {
        continue; // inside a quote only a name can follow
      } else if (UNRENDERABLE.has(sym) || sym === BOS) {
        if (!partial) out.push([ps, sym, ""]);
      } else {
        const surface = get(this.spelling, sym) ?? sym;
        if (!partial || sym.startsWith(low)) out.push([ps, sym, surface]);
      }
    }
    return out.sort((a, b) => (a[0] > b[0] ? -1 : a[0] < b[0] ? 1 : 0)); // stable, as Python's sort
  }

  /** Whether `word.` qualifies a name by a schema the schema text never names (`public.`): not a table,
   * not an alias typed in the statement, not a short alias (`T1.name` comes before `AS T1`). */
  foreignQualifier(word, prefix) {
    const low = lower(word);
    return !this.schema.tableSet.has(low) && !knownWords(prefix).has(low) && !SHORT_ALIAS.test(low) &&
      !lower(this.schemaText).includes(low + ".");
  }

  /** A schema name as the schema spells it; quoted only where it must be (`"Order Items"`, in the
   * schema's own quotes), so that `author` and `"author"` are one suggestion; a table outside the
   * default namespace qualified (`inventory.stock`) unless a qualifier precedes. */
  render(sym, name, afterDot = false) {
    let written = this.schema.quoted.get(name) ?? this.schema.spelling.get(name);
    if ((sym === TABLE || sym === QTABLE) && !afterDot) written = this.schema.qualified.get(name) ?? written;
    return written;
  }

  // -------------------------------------------------------- completion

  whitespace(prev, sym) {
    const pair = get(this.wsPair, `${prev} ${sym}`);
    const next = get(this.wsNext, sym);
    return pair !== undefined ? pair : next !== undefined ? next : " ";
  }

  /** Up to n distinct suggestions, best first, each the exact text to insert at the cursor. */
  complete(prefix, suffix = "", n = 5) {
    return this.proposals(prefix, suffix, n).filter(([, first]) => first !== null)
      .map(([, first, rest]) => first + rest).filter((t) => strip(t));
  }

  /** Up to n distinct [probability, first word's text to insert, continuation] for the next word, best
   * first; a literal or the end of the statement (which the n-gram cannot spell) has text null. */
  proposals(prefix, suffix = "", n = 5) {
    if (stringStart(prefix) >= 0) return []; // inside a string literal: nothing to predict
    const toks = tokenize(prefix);
    let partial = "", opener = ""; // `FROM "Ord`, `[Ord`: a quoted name is being typed
    if (toks.length && /[A-Za-z0-9_]$/.test(prefix) && !"'\"".includes(toks.at(-1)[1][0])) partial = toks.pop()[1];
    if (partial && toks.length && ['"', "`", "["].includes(toks.at(-1)[1]) &&
      prefix.slice(0, prefix.length - partial.length).endsWith(toks.at(-1)[1])) opener = toks.pop()[1]; // right before it
    const state = new State();
    let prev = BOS;
    for (const [, word] of toks) {
      const norm = this.schema.normalize(word, prev);
      state.push(word, norm, this.schema);
      prev = norm;
    }
    const lowerStyle = this.lowercaseStyle(toks);
    const typedSpace = strip(prefix) ? prefix.slice(rstrip(prefix).length) : prefix;
    const ctx = [...new Array(this.order - 1).fill(BOS), ...state.norms];
    // names a suggestion may use: the schema's, the statement's (aliases, CTEs), SQL's (isKnown)
    const known = new Set([...this.schemaWords, ...knownWords(prefix, suffix)]);
    const out = [], seen = new Set();
    let spelled = 0;
    for (const [p, sym, rawSurface] of this.ranked(state, ctx, partial, opener)) {
      if (sym === BOS) continue;
      if (UNRENDERABLE.has(sym)) {
        if (!seen.has(sym)) {
          seen.add(sym);
          out.push([p, null, ""]);
        }
        continue;
      }
      if (!CLASSES.has(sym) && isName(rawSurface) && !isKnown(rawSurface, known, this.sqlWords)) continue;
      const surface = this.style(sym, rawSurface, lowerStyle);
      let text;
      if (partial) text = cpSlice(surface, cps(opener).length + cps(partial).length);
      else text = (typedSpace || !toks.length ? "" : this.whitespace(prev, sym)) + surface;
      const key = lower(text);
      if (seen.has(key)) continue;
      seen.add(key);
      const rest = strip(suffix) ? "" : this.extend(state, ctx, sym, surface, lowerStyle, known);
      if (rest.startsWith(".") && this.foreignQualifier(surface, prefix)) continue; // `public.t` where the schema writes `t`
      out.push([p, text, rest]);
      if (++spelled === n) break;
    }
    return out;
  }

  /** Greedy continuation after a chosen first token, up to maxTokens, to the end of the statement; it
   * stops before a name found nowhere (one right after AS is an alias it defines). */
  extend(state, ctx, sym, surface, lowerStyle, known) {
    if (sym === ";") return "";
    state = state.copy();
    state.push(surface, sym, this.schema);
    ctx = [...ctx, sym];
    let text = "", prev = sym;
    let depth = sym === "(" ? 1 : 0, clean = 0; // parentheses this suggestion opened; where it may end
    for (let step = 0; step < this.maxTokens - 1; step++) {
      const p = this.prob(ctx, constrain(state, this.schema, this.candidates(ctx)));
      let nsym = null;
      for (const [w, pw] of p) if (nsym === null || pw > p.get(nsym)) nsym = w; // the first of equals, as max()
      if (nsym === null) break; // the statement allows none of the n-gram's next symbols
      if (UNRENDERABLE.has(nsym) || nsym === BOS || p.get(nsym) < this.minProb) break;
      let nsurface;
      if (CLASSES.has(nsym)) {
        const names = this.classNames(baseClass(nsym), state);
        if (!names.length || p.get(nsym) * names[0][1] < this.minProb) break;
        nsurface = this.render(nsym, names[0][0], prev === ".");
      } else {
        nsurface = this.style(nsym, get(this.spelling, nsym) ?? nsym, lowerStyle);
        if (isName(nsurface) && !isKnown(nsurface, known, this.sqlWords)) {
          if (prev !== "as") break;
          known = new Set([...known, lower(nsurface)]);
        }
      }
      text += this.whitespace(prev, nsym) + nsurface;
      depth = nsym === "(" ? depth + 1 : Math.max(depth - (nsym === ")" ? 1 : 0), 0);
      if (depth === 0 || (depth === 1 && nsym === "(")) clean = text.length;
      if (nsym === ";") break;
      state.push(nsurface, nsym, this.schema);
      ctx.push(nsym);
      prev = nsym;
    }
    return text.slice(0, clean); // never inside a parenthesis it opened (right after its `(` is fine)
  }

  /** Whether the user types keywords in lower case (the last keyword typed decides). */
  lowercaseStyle(toks) {
    for (let i = toks.length - 1; i >= 0; i--) {
      const word = toks[i][1], low = lower(word);
      const spelled = get(this.spelling, low);
      if (spelled !== undefined && isUpper(spelled) && !this.schema.spelling.has(low)) return isLower(word);
    }
    return false;
  }

  style(sym, surface, lowerStyle) {
    return lowerStyle && !CLASSES.has(sym) ? lower(surface) : surface;
  }
}
