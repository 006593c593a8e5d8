// sqlcomplete/completion/menu.py for the page: the rules every suggestion passes before a person sees it
// (whole words, closed structure, the grammar and types of its place, the user's case; a quoted name
// is one name), and how an item looks (the whole word being completed with what follows). Same results
// as the Python module (tests/test_web.py checks them on the same cases).
import { BOS, Schema, State, atTable, constrain } from "./ngram.js";
import { IDENT, PY_SPACE, TOKEN, knownWords, stringStart, unquote } from "./schema.js";

const WORD = new RegExp(`^${IDENT}$`, "u"); // a word: a name of any script (客户, café), lexicon.IDENT
const LEADING_WORD = new RegExp(`^${IDENT}`, "u");
const TAIL = /[\p{L}\p{N}_$]*$/u;
const SHORT_ALIAS = /^[a-z]\d*$/;
const ONLY_SPACE = new RegExp(`^[${PY_SPACE}]+$`, "u");
const SPACES = new RegExp(`[${PY_SPACE}]+`, "u");
const KEYWORDS = `select from where and or not null is in as on join left right inner outer full cross group by order
having limit offset insert into values update set delete truncate table upsert returning distinct case when then else
end like ilike between exists union all asc desc count sum avg min max with conflict do nothing cascade`.split(/\s+/);
// the words whose case follows the user's: SQL's keywords, not its functions and types (menu.CASED)
const CASED = new Set([...KEYWORDS.filter((w) => !["count", "sum", "avg", "min", "max"].includes(w)),
  ...`natural using intersect except nulls first last recursive true false over partition filter any some only
lateral window rows range preceding following unbounded current interval escape similar glob regexp collate top fetch
next within if`.split(/\s+/)]);

const inString = (text) => stringStart(text) >= 0;
// the scorer's tokens, but a word of any script is one word (客户), and a quoted name in any dialect's
// quotes is one token, escapes and all ("a ""b""", `a``b`, [a]]b]); `[` right after a word, `]` or `)`
// subscripts an array (menu.NAME_TOKEN)
const NAME_TOKEN = new RegExp(`"(?:[^"]|"")*"|\`(?:[^\`]|\`\`)*\`|(?<![\\p{L}\\p{N}_\\])])\\[(?:[^\\]]|\\]\\])*\\]|${IDENT}|${TOKEN.source}`, "gu");
const OPENERS = ['"', "`", "["];
const OPENER_AT = new RegExp(NAME_TOKEN.source, "uy"); // NAME_TOKEN at one place

/** Whether the `[` at text[i] opens a name, not an array subscript (`tags[1`). */
function nameBracket(text, i) {
  const before = [...text.slice(Math.max(i - 2, 0), i)].at(-1);
  return i === 0 || !/^[\p{L}\p{N}_\])]$/u.test(before);
}

let openOf = [null, -1]; // [the last prefix asked, its answer]

/** Where the quoted name that `prefix` ends inside opens (the offset of its quote), else -1 (menu.open_name). */
export function openName(prefix) {
  if (openOf[0] === prefix) return openOf[1]; // asked per suggestion and per item of one prefix
  let at = -1;
  for (const m of prefix.matchAll(NAME_TOKEN)) {
    if (OPENERS.includes(m[0]) && (m[0] !== "[" || nameBracket(prefix, m.index))) {
      at = m.index;
      break;
    }
  }
  openOf = [prefix, at];
  return at;
}

/** Whether a NAME_TOKEN token is a whole quoted name ("a b", `a b`, [a b]). */
const isQuoted = (tok) => tok.length >= 2 && OPENERS.includes(tok[0]);
const isLower = (s) => s !== s.toUpperCase() && s === s.toLowerCase(); // Python's str.islower
const isUpper = (s) => s !== s.toLowerCase() && s === s.toUpperCase();
const capitalize = (s) => s.slice(0, 1).toUpperCase() + s.slice(1).toLowerCase();

/** The partly typed word at the end of `prefix` ("" after a space or symbol, or in a string). */
export const typedWord = (prefix) => (inString(prefix) ? "" : prefix.match(TAIL)[0]);

/** "lower", "upper" or "title" for a word with letters, else null (menu.word_case). */
export function wordCase(word) {
  const letters = [...word].filter((ch) => /\p{L}/u.test(ch));
  if (!letters.length) return null;
  if (isLower(word)) return "lower";
  if (isUpper(word)) return "upper";
  return isUpper(letters[0]) && isLower(letters.slice(1).join("")) ? "title" : null;
}

/** The case of the last keyword typed before the word being typed (menu.keyword_case). */
export function keywordCase(prefix) {
  const head = prefix.slice(0, prefix.length - typedWord(prefix).length);
  const toks = [...[...head].slice(-2000).join("").matchAll(NAME_TOKEN)];
  for (let i = toks.length - 1; i >= 0; i--) {
    const tok = toks[i][0];
    if (CASED.has(tok.toLowerCase())) {
      const c = wordCase(tok);
      return c === "lower" || c === "upper" ? c : null;
    }
  }
  return null;
}

export const inCase = (word, c) =>
  c === "lower" ? word.toLowerCase() : c === "upper" ? word.toUpperCase() : c === "title" ? capitalize(word) : word;

/** Menu rules for one schema (menu.Menu): clean(prefix, suffix, texts) and recase(prefix, text). */
export class Menu {
  constructor(sqlWords, schema = "") {
    this.sqlWords = sqlWords; // SQL's words: config.sql_vocabulary
    this.text = null;
    this.setSchema(schema);
  }

  /** Use this schema; `parsed` is the n-gram's Schema of the same text, when there is one. */
  setSchema(schema, parsed = null) {
    if (schema !== this.text || parsed) {
      this.text = schema;
      this.schema = parsed || new Schema(schema);
      this.words = knownWords(schema);
      this.stateOf = null;
    }
  }

  /** [statement state before the partly typed word, its last symbol, that partial word]; the partial
   * word of a quoted name the user opened is all of it from its quote: `"Order It`. */
  state(prefix) {
    if (!this.stateOf || this.stateOf[0] !== prefix) {
      const opened = openName(prefix);
      let toks, partial = "";
      if (opened >= 0) {
        toks = [...prefix.slice(0, opened).matchAll(NAME_TOKEN)].map((m) => m[0]);
        partial = prefix.slice(opened);
      } else {
        toks = [...prefix.matchAll(NAME_TOKEN)].map((m) => m[0]);
        if (toks.length && /[\p{L}\p{N}_]$/u.test(prefix) && !"'\"".includes(toks.at(-1)[0])) partial = toks.pop();
      }
      const state = new State();
      let prev = BOS;
      for (const word of toks) {
        const norm = this.normalize(word, prev);
        state.push(word, norm, this.schema);
        prev = norm;
      }
      this.stateOf = [prefix, [state, prev, partial]];
    }
    return this.stateOf[1];
  }

  /** The n-gram's symbol of a NAME_TOKEN token: a name in any quotes as a "quoted" one. */
  normalize(tok, prev) {
    return this.schema.normalize(isQuoted(tok) ? `"${unquote(tok)}"` : tok, prev);
  }

  allowed(state, norm) {
    return constrain(state, this.schema, new Set([norm])).has(norm);
  }

  /** Each text cut back to its last clean point and recased; those whose first word is not allowed
   * here (or that nothing clean is left of) are left out. */
  clean(prefix, suffix, texts) {
    if (inString(prefix)) return [...texts];
    const [state, prev, partial] = this.state(prefix);
    const typed = knownWords(prefix.slice(0, prefix.length - partial.length), suffix);
    const out = [];
    for (const text of texts) {
      const cut = this.cut(state, prev, partial, text, typed);
      if (cut !== null && cut.trim() && !ONLY_SPACE.test(cut)) out.push(this.recase(prefix, cut));
    }
    return out;
  }

  whole(word, known) {
    return known.has(word) || this.sqlWords.has(word);
  }

  cut(state0, prev, lead, text, typed) {
    const full = lead + text;
    const state = state0.copy();
    let depth = 0;
    const ends = []; // clean points: [offset in text, token, token before]
    const toks = [...full.matchAll(NAME_TOKEN)];
    const known = new Set([...this.words, ...typed]);
    if (OPENERS.includes(lead[0]) && toks.length && toks[0][0] === lead[0]) {
      return this.insideName(full, text); // it never closes the quote the user opened
    }
    if (lead && toks.length && toks[0].index + toks[0][0].length === lead.length) {
      const low = lead.toLowerCase();
      if (!(/^\p{Nd}/u.test(lead) || SHORT_ALIAS.test(low) || this.whole(low, known))) return null;
    }
    let before = "";
    for (let i = 0; i < toks.length; i++) {
      const tok = toks[i][0], end = toks[i].index + tok.length - lead.length;
      if ((tok === "'" || OPENERS.includes(tok)) && (tok !== "[" || nameBracket(full, toks[i].index))) {
        break; // a string or quoted name it opens and never closes
      }
      const norm = this.normalize(tok, prev);
      const qualifier = i + 1 < toks.length && toks[i + 1][0] === ".";
      if (!(qualifier && atTable(state)) && !this.allowed(state, norm)) {
        if (i === 0) return null; // its first word is of the wrong class here
        break;
      }
      state.push(tok, norm, this.schema);
      prev = norm;
      depth = tok === "(" ? depth + 1 : Math.max(depth - (tok === ")" ? 1 : 0), 0);
      if (depth === 0 || (depth === 1 && tok === "(")) ends.push([end, tok, before]);
      before = tok;
    }
    while (ends.length) { // the last word must be whole (an alias right after AS: unless it starts a name)
      const [, tok, prior] = ends.at(-1);
      const low = tok.toLowerCase();
      if (!WORD.test(tok) || this.whole(low, known)) break;
      if (prior.toLowerCase() === "as" && !this.startsName(low, known)) break;
      ends.pop();
      if (prior.toLowerCase() === "as" && ends.length) ends.pop();
    }
    if (!ends.length) return null;
    const end = ends.at(-1)[0];
    return ONLY_SPACE.test(text.slice(end)) ? text : text.slice(0, Math.max(end, 0));
  }

  /** `text` when all of it stays inside the quoted name the user opened (`full` is that name so far)
   * and it ends that name whole (`"Ord` + `ers`): the user closes the quote. */
  insideName(full, text) {
    const close = full[0] === "[" ? "]" : full[0];
    const name = full.slice(1).replaceAll(close + close, close).toLowerCase();
    return this.schema.spelling.has(name) || this.words.has(name) ? text : null;
  }

  startsName(word, known) {
    for (const words of [known, this.sqlWords]) for (const w of words) if (w !== word && w.startsWith(word)) return true;
    return false;
  }

  /** Keywords in the user's case, names in the schema's spelling; quoted names as they are, and so is the
   * rest of a quoted name the user opened (menu.Menu.recase). */
  recase(prefix, text) {
    const opened = openName(prefix);
    if (opened < 0) return this.recaseFrom(text, typedWord(prefix), keywordCase(prefix));
    const head = prefix.slice(opened);
    OPENER_AT.lastIndex = 0;
    const m = OPENER_AT.exec(head + text);
    if (!isQuoted(m[0])) return text; // all of it inside the user's quotes
    const keep = m[0].length - head.length;
    return text.slice(0, keep) + this.recaseFrom(text.slice(keep), "", keywordCase(prefix.slice(0, opened)));
  }

  recaseFrom(text, lead, c) {
    const leadCase = wordCase(lead);
    const spelling = this.schema.spelling;
    let out = "", pos = 0;
    for (const m of text.matchAll(NAME_TOKEN)) {
      const tok = m[0], first = m.index === 0 && lead !== "";
      out += text.slice(pos, m.index);
      pos = m.index + tok.length;
      const whole = first ? lead + tok : tok;
      const low = whole.toLowerCase();
      const name = spelling.has(low), sql = this.sqlWords.has(low);
      let fresh = whole;
      if (WORD.test(tok) && (name || sql)) {
        if (name && (first || !sql)) fresh = spelling.get(low);
        else if (sql && !name && (first || CASED.has(low))) fresh = inCase(whole, first ? leadCase : c);
      }
      out += first ? fresh.slice(lead.length) : fresh;
    }
    return out + text.slice(pos);
  }
}

/** How `text`, inserted after `prefix`, is shown (menu.menu_item): {insert, word, label, newText, filterText}. */
export function menuItem(prefix, text, spelling = null, sqlWords = null) {
  const opened = openName(prefix); // a quoted name the user opened: the typed word from its quote
  const word = opened < 0 ? typedWord(prefix) : prefix.slice(opened);
  let whole = word + text;
  const m = whole.match(LEADING_WORD);
  if (m && word) {
    const low = m[0].toLowerCase();
    if (spelling && spelling.has(low)) whole = spelling.get(low) + whole.slice(m[0].length);
    else if (sqlWords && sqlWords.has(low)) whole = inCase(m[0], wordCase(word)) + whole.slice(m[0].length);
  }
  const shown = whole.replace(/^\n+/, "").replaceAll("\n", " \u23ce ").replaceAll("\t", " ");
  const parts = shown.split(SPACES).filter((x) => x);
  return { insert: text, word, label: parts.join(" ") || shown, newText: whole, filterText: word + whole.slice(word.length) };
}

/** Lowercase name -> as the schema writes it, from parseSchema's Map of table -> columns. */
export function nameSpelling(tables) {
  const out = new Map();
  for (const [t, cols] of tables) for (const n of [t, ...cols]) out.set(n.toLowerCase(), n);
  return out;
}
