// Schema helpers of the completer, as in Python: parse_schema (datagen/sqlcheck.py), fit_schema and
// names_in (prepare.py), and sample.py's SchemaLexicon, the copy bias that keeps generated
// identifiers on the schema's names.

const W = "[\\p{L}\\p{N}_]"; // Python's \w
// Python's str.isspace() characters (its re's \s, used by strip()); JS \s differs slightly
export const PY_SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const S = `[${PY_SPACE}]`; // Python's \s
const WORD_START = `(?<!${W})`, WORD_END = `(?!${W})`; // Python's \b before and after a word
const LINE_START = "(?<![^\\n])", LINE_END = "(?![^\\n])"; // Python's ^ and $ under re.M
const SQL_UNITS = /'(?:[^']|'')*'?|"[^"]*"?|`[^`]*`?|--[^\n]*|\/\*.*?(?:\*\/|$)|[A-Za-z_][A-Za-z0-9_$]*/gs;
// an unquoted identifier (lexicon.IDENT): a letter of any script or _, then letters, digits, _ and $
export const IDENT = "[\\p{L}\\p{Nl}\\p{No}_][\\p{L}\\p{N}_$]*";
const NAME_G = new RegExp(IDENT, "gu");
const NAME_FULL = new RegExp(`^${IDENT}$`, "u");
export const cpLen = (s) => [...s].length;
export const identifiers = (text) => text.match(NAME_G) || [];
// the scorer's tokens; Python's \d is any Unicode digit and its \S any character but str.isspace()'s
export const TOKEN = new RegExp(`[A-Za-z_][A-Za-z0-9_]*|\\p{Nd}+(?:\\.\\p{Nd}+)?|'(?:[^']|'')*'|"[^"]*"|[^${PY_SPACE}]`, "gu");
// inventedAt's units (lexicon._UNITS): the scorer's tokens, but any identifier is one word (主键)
const UNITS = new RegExp(`${IDENT}|\\p{Nd}+(?:\\.\\p{Nd}+)?|'(?:[^']|'')*'|"[^"]*"|[^${PY_SPACE}]`, "gu");
const SHORT_ALIAS = /^[a-z]\p{Nd}*$/u; // T1, t2, c: short aliases are fine anywhere (the scorer's rule)
const strip = (s) => s.replace(new RegExp(`^${S}+|${S}+$`, "gu"), "");

/** The lowercase words of these texts (a schema, the statement typed so far): names a suggestion may use. */
export const knownWords = (...texts) => new Set(texts.flatMap(identifiers).map((w) => w.toLowerCase()));

/** Whether a suggestion may name `word`: one of `known`, a word of SQL, or a short alias. lexicon.is_known. */
export function isKnown(word, known, sqlWords) {
  const low = word.toLowerCase();
  return known.has(low) || sqlWords.has(low) || SHORT_ALIAS.test(low);
}

/** Whether a name cannot be written bare (lexicon.needs_quotes): it is no identifier. */
export const needsQuotes = (name) => !NAME_FULL.test(name);
export const isName = (word) => NAME_FULL.test(word);

/** Where `text` (a suggestion continuing `lead`, the partly typed word or an open quote) first names
 * something found nowhere: the offset to cut it at (only blanks are left when that is its first word),
 * or -1. Names inside string literals do not count; a name right after AS, past the first word, is an alias the suggestion
 * defines. lexicon.invented_at. */
export function inventedAt(text, known, sqlWords, lead = "") {
  const full = lead + text;
  let first = true, defining = false;
  for (const m of full.matchAll(UNITS)) {
    const tok = m[0];
    if (tok === "'" || tok === '"') return -1; // an unclosed literal or quoted name: the rest is inside it
    if (m.index + tok.length > lead.length) {
      const word = tok[0] === '"' ? tok.slice(1, -1) : tok;
      if (NAME_FULL.test(word) && !isKnown(word, known, sqlWords)) {
        if (first || !defining) return Math.max(m.index - lead.length, 0);
        known = new Set([...known, word.toLowerCase()]);
      }
      first = false;
    }
    defining = tok.toLowerCase() === "as";
  }
  return -1;
}

// ---------------------------------------------------------------- names as written (lexicon.py)

// a name as written in DDL or SQL, in any dialect's quoting: "a ""b""", `a b`, [a]]b], or bare
const WRITTEN_NAME = '(?:"(?:[^"]|"")*"|`[^`]*`|\\[(?:[^\\]]|\\]\\])*\\]|[\\p{L}\\p{N}_$]+)';
// as CREATE TABLE declares it: SQLite also takes a string there (CREATE TABLE 'lyrics_data')
const DECLARED_NAME = `(?:${WRITTEN_NAME}|'(?:[^']|'')*')`;
const RESERVED = new Set(`all and any as asc between by case check collate column constraint create cross current_date
current_time current_timestamp default delete desc distinct drop else end except exists false for foreign from full group
having in index inner insert intersect into is join key left like limit natural not null offset on or order outer primary
references right select set table then to true union unique update user using values when where with`.split(/\s+/));

/** A name as written without its quotes: "a b", `a b`, [a b] (with ]] for ]) or 'a' (lexicon.unquote). */
export function unquote(name) {
  name = strip(name);
  const pair = name.length >= 2 ? name[0] + name.at(-1) : "";
  if (['""', "``", "[]", "''"].includes(pair)) {
    const close = name.at(-1);
    return name.slice(1, -1).replaceAll(close + close, close);
  }
  return name;
}

/** unquote's inverse: the name in a dialect's quotes, " (standard), ` (MySQL) or [ (SQL Server). */
export function quote(name, style = '"') {
  const close = style === "[" ? "]" : style;
  return style + name.replaceAll(close, close + close) + close;
}

// ---------------------------------------------------------------- the scanner (scan.py)

const CODE_EVENT = /[;'"`()]|--|\/\*|(?<![A-Za-z0-9_$])\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/g;

/** scan._walk: [the mode the text ends in ("" in code), where that mode was entered or -1]; with
 * `spans`, each string, quoted name, comment or dollar quote as [start, end, kind] is added to it. */
function walk(text, spans = null) {
  let mode = "", i = 0, opened = -1;
  const n = text.length;
  while (i < n) {
    if (mode === "") {
      CODE_EVENT.lastIndex = i;
      const m = CODE_EVENT.exec(text);
      if (!m) break;
      i = m.index + m[0].length;
      if (!";()".includes(m[0])) [mode, opened] = [m[0], m.index]; // ' " ` -- /* or $tag$
    } else {
      const close = mode === "--" ? "\n" : mode === "/*" ? "*/" : mode;
      const j = text.indexOf(close, i);
      if (j < 0) break;
      if ((close === "'" || close === '"') && text.startsWith(close, j + 1)) { // '' or "": still inside
        i = j + 2;
        continue;
      }
      if (spans) spans.push([Math.max(opened, 0), j + close.length, mode]);
      [mode, i, opened] = ["", j + close.length, -1];
    }
  }
  if (spans && mode) spans.push([Math.max(opened, 0), n, mode]);
  return [mode, opened];
}

/** Where the string literal that `text` ends inside opens (the offset of its quote), else -1
 * (scan.string_start: comments, quoted names and dollar quotes are skipped, '' is a quote). */
export function stringStart(text) {
  const [mode, opened] = walk(text);
  return mode === "'" ? opened : -1;
}

/** [start, end, kind] of each string, quoted name, comment and dollar quote (scan.quoted_spans). */
export function quotedSpans(text) {
  const spans = [];
  walk(text, spans);
  return spans;
}

// ---------------------------------------------------------------- reading DDL (schema.py)

const QUALIFIED = `${DECLARED_NAME}(?:${S}*\\.${S}*${DECLARED_NAME})*`;
const CREATE = new RegExp(`create${S}+(?:or${S}+replace${S}+)?(?:(?:global|local)${S}+)?` +
  `(?:(?:temp|temporary|unlogged|foreign)${S}+)?table${S}+(?:if${S}+not${S}+exists${S}+)?(${QUALIFIED})${S}*[({]`, "giud");
const CREATE_VIRTUAL = new RegExp(`${WORD_START}create${S}+virtual${S}+table${S}+(?:if${S}+not${S}+exists${S}+)?` +
  `(${QUALIFIED})${S}+using${S}+${W}+${S}*\\(`, "giud");
const ALTER_FK = new RegExp(`${WORD_START}alter${S}+table${S}+(?:if${S}+exists${S}+)?(?:only${S}+)?(${QUALIFIED})${S}+` +
  `(?:with${S}+(?:no)?check${S}+)?add${S}+(?:constraint${S}+${DECLARED_NAME}${S}+)?foreign${S}+key${S}*\\([^)]*\\)${S}*` +
  `references${S}+${QUALIFIED}${S}*(?:\\([^)]*\\))?`, "giud");
const NAME_PART = new RegExp(DECLARED_NAME, "gu");
const NOT_COLUMNS = new Set(["primary", "foreign", "constraint", "unique", "index", "key", "check", "family", "inverted",
  "exclude", "fulltext", "spatial", "period", "like"]);
const COLUMN_WORDS = new Set(["key", "index", "family", "period"]); // of those, words that also name columns
const INDEX_TAIL = new RegExp(`${S}*(?:for${WORD_END}|(?:${DECLARED_NAME}${S}*)?(?:using${S}+${W}+${S}*)?\\((?!${S}*\\p{Nd}))`, "iuy");
const NOT_TYPES = new Set(["primary", "not", "null", "references", "default", "unique", "check", "constraint", "generated",
  "collate", "as", "identity", "auto_increment", "autoincrement"]);
const DEFAULT_NAMESPACES = new Set(["public", "dbo", "main"]); // their tables need no qualifier
const MYSQL_HINT = new RegExp(`\`|/\\*!\\p{Nd}|${WORD_START}engine${S}*=`, "iu");
const BACKSLASH_ESCAPE = /\\[\\'"]/g;
const DELIMITER_LINE = new RegExp(`${LINE_START}[ \\t]*delimiter[ \\t]+([^${PY_SPACE}]+)[ \\t\\r]*${LINE_END}`, "giu");
const GO_LINE = new RegExp(`${LINE_START}[ \\t]*go(?:[ \\t]+\\p{Nd}+)?[ \\t]*;?[ \\t\\r]*${LINE_END}`, "giu");
const ROUTINE = new RegExp(`^${S}*(?:create|alter)${S}+(?:or${S}+(?:alter|replace)${S}+)?` +
  `(?:proc|procedure|function|trigger|view|event)${WORD_END}`, "iu");
const blank = (text) => text.replace(/[^\n]/g, " "); // per UTF-16 unit: positions stay where they were

/** A small cache of a function of one string (functools.lru_cache(maxsize=4)). */
function cached(fn, size = 4) {
  const memo = new Map();
  return (key) => {
    if (memo.has(key)) return memo.get(key);
    if (memo.size >= size) memo.delete(memo.keys().next().value);
    const value = fn(key);
    memo.set(key, value);
    return value;
  };
}

/** The schema, same length, with the inside of every string, quoted name, comment and dollar quote
 * blanked (a quote's delimiters stay), and routine bodies blanked whole (schema._code_view). */
const codeView = cached((schema) => {
  let scanned = schema;
  if (schema.includes("\\") && MYSQL_HINT.test(schema)) scanned = schema.replace(BACKSLASH_ESCAPE, "  ");
  let code = "", pos = 0;
  for (const [start, end, kind] of quotedSpans(scanned)) {
    code += schema.slice(pos, start);
    const closed = ["'", '"', "`"].includes(kind) && end - start >= 2 && scanned[end - 1] === kind;
    code += closed ? kind + blank(schema.slice(start + 1, end - 1)) + kind : blank(schema.slice(start, end));
    pos = end;
  }
  code += schema.slice(pos);
  if (code.match(DELIMITER_LINE)) code = blankDelimiterBlocks(code); // mysqldump's routines
  if (code.match(GO_LINE)) { // T-SQL batches: a procedure's body is not quoted
    let out = "";
    pos = 0;
    for (const m of [...code.matchAll(GO_LINE), null]) {
      const end = m ? m.index : code.length;
      const batch = code.slice(pos, end);
      out += ROUTINE.test(batch) ? blank(batch) : batch;
      if (m) {
        out += blank(m[0]);
        pos = m.index + m[0].length;
      }
    }
    code = out;
  }
  return code;
});

function blankDelimiterBlocks(code) {
  let out = "", pos = 0, blockStart = -1;
  for (const m of code.matchAll(DELIMITER_LINE)) {
    if (blockStart < 0 && m[1] !== ";") {
      out += code.slice(pos, m.index);
      blockStart = m.index;
    } else if (blockStart >= 0 && m[1] === ";") {
      out += blank(code.slice(blockStart, m.index + m[0].length));
      [pos, blockStart] = [m.index + m[0].length, -1];
    }
  }
  return out + (blockStart >= 0 ? blank(code.slice(blockStart)) : code.slice(pos));
}

/** A dotted name's parts as written, found in the code view and read from the text. */
function nameParts(code, text, start, end) {
  return [...code.slice(start, end).matchAll(NAME_PART)].map((m) => text.slice(start + m.index, start + m.index + m[0].length));
}

/** Top-level items of a body (commas outside parentheses) as [code view, text] pairs. */
function items(code, text, start, end) {
  const out = [];
  let depth = 0, itemStart = start;
  for (let i = start; i < end; i++) {
    const ch = code[i];
    if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (ch === "," && depth === 0) {
      out.push([code.slice(itemStart, i), text.slice(itemStart, i)]);
      itemStart = i + 1;
    }
  }
  out.push([code.slice(itemStart, end), text.slice(itemStart, end)]);
  return out;
}

/** Index just past the parenthesis closing the one opened before `start` (schema.body_end). */
function bodyEnd(text, start) {
  let depth = 1, i = start;
  while (depth && i < text.length) {
    const ch = text[i++];
    if (ch === "'" || ch === '"' || ch === "`") {
      const close = text.indexOf(ch, i);
      i = close < 0 ? text.length : close + 1;
    } else if (ch === "(" || ch === "{") depth++; // some LLM-written schemas wrap the columns in braces
    else if (ch === ")" || ch === "}") depth--;
  }
  return depth === 0 ? i : text.length;
}

/** The schema's tables ({start, end, parts, items, virtual, name, namespace}) and its ALTER TABLE
 * foreign keys ({start, end, table, code, text}), in text order (schema._read). */
const read = cached((schema) => {
  const code = codeView(schema);
  const tables = [];
  for (const [pattern, virtual] of [[CREATE, false], [CREATE_VIRTUAL, true]]) {
    for (const m of code.matchAll(pattern)) {
      const open = m.index + m[0].length;
      let end = bodyEnd(code, open);
      const bodyStop = ")}".includes(code.slice(end - 1, end)) ? end - 1 : end;
      if (end < code.length && code[end] === ";") end++;
      const parts = nameParts(code, schema, ...m.indices[1]);
      tables.push({ start: m.index, end, parts, items: items(code, schema, open, bodyStop), virtual,
        name: unquote(parts.at(-1)), namespace: parts.length > 1 ? unquote(parts.at(-2)) : null });
    }
  }
  tables.sort((a, b) => a.start - b.start || a.end - b.end);
  const alters = [];
  for (const m of code.matchAll(ALTER_FK)) {
    const stop = m.index + m[0].length;
    const end = code[stop] === ";" ? stop + 1 : stop;
    const parts = nameParts(code, schema, ...m.indices[1]);
    alters.push({ start: m.index, end, table: unquote(parts.at(-1)), code: code.slice(m.index, end), text: schema.slice(m.index, end) });
  }
  return [tables, alters];
});

const FIRST_NAME = new RegExp(`^${S}*(${DECLARED_NAME})`, "u");
const QUOTES = "\"`['";

/** [name, as written] of the column an item declares; null for a constraint or an option. */
function columnName(code, text, virtual = false) {
  const word = code.match(FIRST_NAME);
  if (!word) return null;
  const at = word[0].length - word[1].length;
  const asWritten = text.slice(at, at + word[1].length);
  const low = asWritten.toLowerCase();
  if (!QUOTES.includes(asWritten[0]) && NOT_COLUMNS.has(low)) {
    INDEX_TAIL.lastIndex = at + asWritten.length;
    if (!COLUMN_WORDS.has(low) || INDEX_TAIL.test(code)) return null;
  }
  if (virtual && (code.includes("=") || (!QUOTES.includes(asWritten[0]) && !/^[\p{L}\p{Nl}\p{No}_]/u.test(asWritten)))) {
    return null; // a module's option (tokenize='porter'), not a column
  }
  return [unquote(asWritten), asWritten];
}

const usable = (t) => !t.name.toLowerCase().startsWith("sqlite_"); // SQLite's own (sqlite_sequence)

/** Tables of a schema as a Map table -> [columns] in schema order (unquoted, namespace dropped). */
export function parseSchema(schema) {
  const tables = new Map();
  for (const t of read(schema)[0]) {
    const columns = new Set();
    for (const [code, text] of t.items) {
      const col = columnName(code, text, t.virtual);
      if (col) columns.add(col[0]);
    }
    if (columns.size && usable(t)) tables.set(t.name, [...columns]);
  }
  return tables;
}

/** `sales."Order Lines"`, [Sales].[Order Lines] -> `Order Lines`: the last part, unquoted. */
export function bareName(written) {
  const parts = written.match(NAME_PART);
  return parts ? unquote(parts.at(-1)) : written;
}

/** split_tables and each part's table name, lowercase. */
const namedTables = cached((schema) => {
  const [tables, alters] = read(schema);
  const found = [...tables.filter((t) => t.items.length && usable(t)).map((t) => [t.start, t.end, t.name]),
    ...alters.map((a) => [a.start, a.end, a.table])].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return [found.map(([s, e]) => schema.slice(s, e)), found.map(([, , name]) => name.toLowerCase())];
});

/** The identifiers a statement names, lowercase (quoted names unquoted; strings, comments skipped). */
export function namesIn(sql) {
  const names = new Set();
  for (const [u] of sql.matchAll(SQL_UNITS)) if (!"'\"`-/".includes(u[0])) names.add(u.toLowerCase());
  for (const [q] of sql.matchAll(/"[^"]+"|`[^`]+`|\[[^\]]+\]/g)) names.add(unquote(q).toLowerCase());
  return names;
}

/** Drop whole tables, those not named in `keepNames` first (last first), until the schema fits. */
export function fitSchema(schema, keepNames, budgetChars) {
  if (cpLen(schema) <= budgetChars) return schema;
  const [parts, names] = namedTables(schema);
  if (!parts.length) return schema;
  const keep = new Set([...keepNames].map((n) => n.toLowerCase()));
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

const REFERENCES = new RegExp(`${WORD_START}references${S}+(${QUALIFIED})${S}*(?:\\(([^)]*)\\))?`, "iud");
const FOREIGN_KEY = new RegExp(`${WORD_START}foreign${S}+key${S}*\\(([^)]*)\\)`, "iud");
const TYPE = new RegExp(`^${S}*${DECLARED_NAME}${S}*((?:${WRITTEN_NAME}${S}*\\.${S}*)?${WRITTEN_NAME})?`, "ud");

/** The names in code[span], read from text, unquoted. */
const namesAt = (code, text, [start, end]) => nameParts(code, text, start, end).map(unquote);

/** [table, column, referenced table, referenced column or ""] of FOREIGN KEY (..) REFERENCES. */
function foreignKeys(code, text, table) {
  const fk = code.match(FOREIGN_KEY), ref = code.match(REFERENCES);
  if (!fk || !ref) return [];
  const refTable = unquote(nameParts(code, text, ...ref.indices[1]).at(-1));
  const refCols = ref[2] !== undefined ? namesAt(code, text, ref.indices[2]) : [];
  return namesAt(code, text, fk.indices[1]).map((c, i) => [table, c, refTable, i < refCols.length ? refCols[i] : ""]);
}

/** Each column's type word (lowercase, "" when none) as a Map table -> Map column -> type, and the
 * foreign keys as [table, column, referenced table, referenced column or ""] (schema.column_types). */
export function columnTypes(schema) {
  const types = new Map(), fkeys = [];
  const [tables, alters] = read(schema);
  for (const t of tables) {
    if (!usable(t)) continue;
    if (!types.has(t.name)) types.set(t.name, new Map());
    const cols = types.get(t.name);
    for (const [code, text] of t.items) {
      const keys = foreignKeys(code, text, t.name);
      if (keys.length) {
        fkeys.push(...keys);
        continue;
      }
      const col = columnName(code, text, t.virtual);
      if (!col) continue;
      const m = code.match(TYPE);
      const type = m && m[1] !== undefined ? bareName(text.slice(...m.indices[1])).toLowerCase() : "";
      if (!cols.has(col[0])) cols.set(col[0], t.virtual || NOT_TYPES.has(type) ? "" : type);
      const ref = code.match(REFERENCES);
      if (ref) {
        const refCols = ref[2] !== undefined ? namesAt(code, text, ref.indices[2]) : [];
        const refTable = unquote(nameParts(code, text, ...ref.indices[1]).at(-1));
        fkeys.push([t.name, col[0], refTable, refCols.length ? refCols[0] : ""]);
      }
    }
  }
  for (const a of alters) fkeys.push(...foreignKeys(a.code, a.text, a.table));
  return [types, fkeys];
}

// ---------------------------------------------------------------- writing names (schema.py)

/** The name quoted as declared when it must be (no identifier, or a reserved word the schema quotes),
 * else null (schema._written). */
function written(name, declared) {
  const style = '"`['.includes(declared[0]) ? declared[0] : '"';
  if (needsQuotes(name) || (QUOTES.includes(declared[0]) && RESERVED.has(name.toLowerCase()))) return quote(name, style);
  return null;
}

/** How a suggestion writes the schema's names, by lowercase name (schema.spelling_of): {quoted: a
 * name that must be quoted, in its declaration's quotes; qualified: a table outside the default
 * namespaces, `inventory.warehouses`; namespace: a table declared qualified, its namespace}. */
export const spellingOf = cached((schema) => {
  const quoted = new Map(), qualified = new Map(), namespace = new Map();
  for (const t of read(schema)[0]) {
    if (!t.items.length || !usable(t)) continue;
    const low = t.name.toLowerCase();
    const w = written(t.name, t.parts.at(-1));
    if (w) setDefault(quoted, low, w);
    const ns = t.namespace;
    if (ns !== null) setDefault(namespace, low, ns.toLowerCase());
    if (ns !== null && !DEFAULT_NAMESPACES.has(ns.toLowerCase()) && !qualified.has(low)) {
      qualified.set(low, (written(ns, t.parts.at(-2)) || ns) + "." + (w || t.name));
    }
    for (const [code, text] of t.items) {
      const col = columnName(code, text, t.virtual);
      const cw = col && written(...col);
      if (cw) setDefault(quoted, col[0].toLowerCase(), cw);
    }
  }
  return { quoted, qualified, namespace };
});
const setDefault = (map, key, value) => map.has(key) || map.set(key, value);

const TABLE_WORD = new RegExp(`${WORD_START}(?:from|join|into|update|table)${S}+$`, "iu");
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const namesPattern = cached((key) => {
  const alternatives = key.split("\u0000").sort((a, b) => b.length - a.length).map(escapeRe).join("|");
  return new RegExp(`(?<![\\p{L}\\p{N}_$"\`\\[.])(${alternatives})(?![\\p{L}\\p{N}_$"\`\\]])`, "giu");
});

/** A suggestion (continuing `lead`, the partly typed word, after the statement's `before`) with the
 * schema's names written as they must be: `Order Items WHERE` -> `"Order Items" WHERE`, `FROM
 * warehouses` -> `FROM inventory.warehouses`; "" when such a name began in the typed text. Strings,
 * quoted names and comments are left alone (schema.requote). */
export function requote(text, spelling, lead = "", before = "") {
  if (!spelling.quoted.size && !spelling.qualified.size) return text;
  const bare = new Map();
  for (const w of spelling.quoted.values()) if (needsQuotes(unquote(w))) bare.set(unquote(w).toLowerCase(), w);
  if (!bare.size && !spelling.qualified.size) return text;
  const full = lead + text;
  // Python's sorted(frozenset) order does not matter: the alternatives are sorted by length, and
  // names of one length never both match at one place
  const pattern = namesPattern([...new Set([...bare.keys(), ...spelling.qualified.keys()])].sort().join("\u0000"));
  const skip = quotedSpans(full);
  const head = [...before].slice(-32).join("");
  let out = "", pos = 0, changed = false;
  for (const m of full.matchAll(pattern)) {
    if (skip.some(([s, e]) => s <= m.index && m.index < e)) continue;
    const low = m[1].toLowerCase();
    let w;
    if (spelling.qualified.has(low) && TABLE_WORD.test(head + full.slice(0, m.index))) w = spelling.qualified.get(low);
    else if (bare.has(low)) w = bare.get(low);
    else continue;
    if (m.index < lead.length) return ""; // only the typed text could say `"Order` rather than `Order`
    out += full.slice(pos, m.index) + w;
    pos = m.index + m[0].length;
    changed = true;
  }
  return changed ? (out + full.slice(pos)).slice(lead.length) : text;
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
  const inString = stringStart(text) >= 0; // comments, quoted names and dollar quotes skipped
  return [inString ? "" : identTail(text).toLowerCase(), inString];
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
