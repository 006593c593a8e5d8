// sample.py's Completer on onnxruntime (web or node): the schema prompt is prefilled once and its
// KV cache kept, statement tokens are re-used up to the longest common token prefix, the tokens of a
// partly typed word are backed off and re-typed under a case-insensitive constraint (token healing),
// identifiers are nudged towards the schema's names (SchemaLexicon), and the top first tokens are each
// extended greedily. With an n-gram (web/ngram.js) it is sample.py's hybrid: the n-gram proposes next
// words and the model reranks them, its own decoding left for literals. Returns only the text missing
// at the cursor. The ONNX graph's cache inputs are described in web/export.py.
import { Menu } from "./menu.js";
import { PY_SPACE, SchemaLexicon, cpLen, fitSchema, identTail, inventedAt, knownWords, namesIn, parseSchema, requote,
  spellingOf, textState } from "./schema.js";

export const SCHEMA_HEADER = "### TABLEDATA";
export const STATEMENT_HEADER = "### STATEMENT";
export const promptText = (schema) => `${SCHEMA_HEADER}\n\n${schema}\n\n${STATEMENT_HEADER}\n\n`;

const STATEMENT_RESERVE = 256; // context tokens kept for the statement when a schema must be shortened
const MAX_HEAL_TOKENS = 16; // how far token healing may back off
const IN_STRING_TOKENS = 3; // inside a string literal a suggestion finishes the literal, within this many tokens
const IN_STRING_ROWS = 3; // ... and fewer rows are decoded: a literal's value seldom has five likely endings
const MAX_PREFIX_CHARS = 16384; // a longer statement is read from its tail (sample.py's tail_of)
const MAX_SUFFIX_CHARS = 4096;
const SHORT_ALIAS = /^[a-z]\d*$/;
const QUALIFIER = /\b([A-Za-z_][A-Za-z0-9_$]*)\.(?=[A-Za-z_"])/g;
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;
const WORD_CHAR = /[A-Za-z0-9_$]/;
const SP = PY_SPACE; // what sample.py's strip() and \s mean
const TRAIL_SPACE = new RegExp(`[${SP}]+$`, "u");
const LEAD_SPACE = new RegExp(`^[${SP}]+`, "u");
const FIRST_WORD = new RegExp(`^[${SP}]*(?:[A-Za-z0-9_$.]+|[^${SP}])`, "u");
const SPACES = new RegExp(`[${SP}]+`, "u");
const utf8 = new TextEncoder();

const rstrip = (s) => s.replace(TRAIL_SPACE, "");
const lastChars = (s, n) => [...s].slice(-n).join(""); // Python's s[-n:] (code points)
const strip = (s) => rstrip(s).replace(LEAD_SPACE, "");
const isSpace = (ch) => ch !== "" && strip(ch) === "";
const decodeIgnore = (bytes) => new TextDecoder().decode(bytes).replaceAll("\ufffd", ""); // errors="ignore"
const startsWith = (a, b) => b.length <= a.length && b.every((x, i) => a[i] === x); // bytes
const lowerAscii = (b) => b.map((x) => (x >= 65 && x <= 90 ? x + 32 : x));

/** log_softmax of one row of logits, in float64. */
function logSoftmax(row) {
  let max = -Infinity, sum = 0;
  for (const v of row) max = Math.max(max, v);
  for (const v of row) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(row, (v) => v - lse);
}

/** The decoder graph on an onnxruntime InferenceSession, with flat KV caches (arrays of tensors). */
export class Decoder {
  constructor(ort, session, config) {
    Object.assign(this, { ort, session, config });
    const n = config.n_layers;
    const kv = (kind) => Array.from({ length: 2 * n }, (_, j) => `${kind}.${j >> 1}.${j & 1 ? "value" : "key"}`);
    this.prefixNames = kv("prefix");
    this.pastNames = kv("past");
    this.presentNames = kv("present");
  }

  static async create(ort, model, config) {
    const session = await ort.InferenceSession.create(model, {
      executionProviders: ["wasm"], graphOptimizationLevel: "all", logSeverityLevel: 3,
    });
    return new Decoder(ort, session, config);
  }

  empty(batch) {
    const { n_kv_heads: h, head_dim: d } = this.config;
    return this.prefixNames.map(() => new this.ort.Tensor("float32", new Float32Array(0), [batch, h, 0, d]));
  }

  length(kv) {
    return kv[0].dims[2];
  }

  /** Logits (B, T, V) and present KV for rows of equal length `ids`, after a shared `prefix` and per-row `past`. */
  async run(ids, prefix, past) {
    const B = ids.length, T = ids[0].length;
    const feeds = { input_ids: new this.ort.Tensor("int64", BigInt64Array.from(ids.flat(), BigInt), [B, T]) };
    this.prefixNames.forEach((name, j) => (feeds[name] = (prefix || this.empty(1))[j]));
    this.pastNames.forEach((name, j) => (feeds[name] = (past || this.empty(B))[j]));
    const out = await this.session.run(feeds);
    return { logits: out.logits.data, V: out.logits.dims[2], T, present: this.presentNames.map((n) => out[n]) };
  }

  /** The first `length` positions of a batch-1 cache (KVCache.truncate). */
  truncate(kv, length) {
    if (this.length(kv) <= length) return kv;
    return kv.map((t) => {
      const [, H, L, D] = t.dims;
      const data = new Float32Array(H * length * D);
      for (let h = 0; h < H; h++) data.set(t.data.subarray(h * L * D, (h * L + length) * D), h * length * D);
      return new this.ort.Tensor("float32", data, [1, H, length, D]);
    });
  }

  /** Keep the given rows of a batched cache. */
  rows(kv, index) {
    return kv.map((t) => {
      const [, H, L, D] = t.dims;
      const size = H * L * D;
      const data = new Float32Array(index.length * size);
      index.forEach((b, i) => data.set(t.data.subarray(b * size, (b + 1) * size), i * size));
      return new this.ort.Tensor("float32", data, [index.length, H, L, D]);
    });
  }
}

/** The first n texts that are neither blank nor a repeat: texts that differ only in surrounding
 * whitespace, case, double quotes or a schema qualifier (`public.`: one that names no table or alias
 * in `relations`) are one suggestion. sample.py's _distinct. */
function distinct(texts, n, relations = new Set()) {
  const unqualified = (m, word) => (relations.has(word.toLowerCase()) || SHORT_ALIAS.test(word.toLowerCase()) ? m : "");
  const out = [], seen = new Set();
  for (const text of texts) {
    const key = strip(text).replaceAll('"', "").toLowerCase().replace(QUALIFIER, unqualified);
    if (key && !seen.has(key)) {
      seen.add(key);
      out.push(text);
    }
  }
  return out.slice(0, n);
}

/** The end of a long statement, cut at a word boundary and outside a string literal (sample.py's tail_of;
 * code points, as Python counts). */
function tailOf(prefix, limit = MAX_PREFIX_CHARS) {
  const chars = [...prefix];
  if (chars.length <= limit) return prefix;
  let cut = chars.length - limit;
  const space = chars.findIndex((ch, i) => i >= cut && isSpace(ch));
  if (space >= 0) cut = space + 1;
  if (chars.slice(0, cut).filter((ch) => ch === "'").length % 2) { // the cut is inside a literal
    const close = chars.indexOf("'", cut);
    return close >= 0 ? chars.slice(close + 1).join("") : "'" + chars.slice(cut).join("");
  }
  return chars.slice(cut).join("");
}

/** A suggestion right after a `;` starts the next statement on a new line. sample.py's _after_end. */
const afterEnd = (prefix, texts) => (prefix.endsWith(";") ? texts.map((t) => (isSpace(t[0] || "") ? t : "\n" + t)) : texts);

/** Set a schema, complete prefixes (the worker and web/batch.mjs build it from web/export.py's files). */
export class Completer {
  constructor(decoder, tokenizer, { maxTokens = 16, stop = "statement", ngram = null } = {}) {
    this.decoder = decoder;
    this.tok = tokenizer;
    this.config = decoder.config;
    this.maxTokens = maxTokens;
    this.stop = stop; // "statement" (EOS or ';'), "line" (also newline) or "word" (first word only)
    this.stopIds = new Set([this.config.eos_id, this.config.statement_header_id, this.config.bos_id]);
    // each token's text as bytes; null for control, unknown and stop tokens (sample.py's piece_bytes)
    this.pieceBytes = tokenizer.pieces.map((_, i) =>
      tokenizer.isControl(i) || tokenizer.isUnknown(i) || this.stopIds.has(i) ? null : [...tokenizer.bytes[i]]);
    this.pieceLower = this.pieceBytes.map((b) => (b ? lowerAscii(b) : null));
    const lex = this.config.lexicon; // sample.py's schema copy bias, its settings from export.py
    if (!this.config.sql_vocabulary) throw new Error("config.json has no sql_vocabulary: export again with web/export.py");
    this.sqlWords = new Set(this.config.sql_vocabulary); // SQL's words: never an invented name
    this.lexicon = lex && (lex.bonus || lex.penalty) ? new SchemaLexicon(this.pieceBytes, lex) : null;
    // the reranker (sample.py's _rerank): an NgramCompleter proposes, weights from export.py's config
    this.ngram = ngram;
    this.menu = new Menu(this.sqlWords); // whole words, closed structure, the place's grammar and types, case
    this.rerankConfig = this.config.ngram;
    if (ngram && this.rerankConfig?.sure === undefined) {
      throw new Error("config.json has no (or old) rerank settings: export again with web/export.py");
    }
    // tokens that would go on spelling an identifier: the model's P(the word ends here)
    this.continuesWord = [];
    this.pieceBytes.forEach((b, i) => b && b.length && WORD_CHAR.test(String.fromCharCode(b[0])) && this.continuesWord.push(i));
    this.schema = null;
    this.schemaTokens = 0;
    this.fitted = null; // the schema text actually in the cache
    this.cache = null; // batch-1 KV of prompt + cached statement tokens
    this.promptIds = [];
    this.cached = [];
    this.lastLogits = null;
    this.decoded = null; // [prefix, suffix, suggestions] of the last decoding (sample.py's _decoded)
  }

  // ---------------------------------------------------------- schema

  setSchema(schema) {
    schema = strip((schema || "").replace(CONTROL, " "));
    if (schema !== this.schema) {
      this.schema = schema;
      this.schemaTokens = this.tok.encode(promptText(schema)).length;
      this.schemaWords = knownWords(schema);
      this.tableNames = null;
      this.decoded = null;
      if (this.lexicon) this.lexicon.setSchema(schema);
      if (this.ngram) this.ngram.setSchema(schema);
      this.menu.setSchema(schema, this.ngram ? this.ngram.schema : null);
    }
  }

  /** Prefill the schema prompt once; a schema too long for the context keeps the tables the
   * statement names and drops others, last first (prepare.fit_schema). */
  async ensurePrompt(statement) {
    const budget = this.config.max_seq_len - this.maxTokens - STATEMENT_RESERVE;
    let fitted = this.schema;
    if (this.schemaTokens > budget) {
      const keep = namesIn(statement);
      let chars = Math.floor(cpLen(this.schema) * budget / this.schemaTokens);
      for (;;) {
        fitted = fitSchema(this.schema, keep, chars);
        if (this.tok.encode(promptText(fitted)).length <= budget || chars < 64) break;
        chars = Math.floor(chars * 0.9);
      }
      if (this.tok.encode(promptText(fitted)).length > budget) { // one huge table: keep the end of its text
        fitted = this.tok.decode(this.tok.encode(fitted).slice(-(budget - 16)));
      }
    }
    if (fitted === this.fitted && this.cache) return false;
    const ids = this.tok.encode(promptText(fitted));
    const { logits, V, T, present } = await this.decoder.run([ids], null, null);
    this.lastLogits = logits.slice((T - 1) * V, T * V);
    Object.assign(this, { cache: present, fitted, promptIds: ids, cached: [] });
    return true;
  }

  // ---------------------------------------------------------- completion

  /** Statement tokens to feed, and the trailing bytes to re-type under constraint (sample.py's _heal):
   * inside a string literal only the last token is backed off. */
  heal(prefix, inString = false) {
    const ids = this.tok.encode(prefix);
    if (!ids.length) return { ids: [], heal: [] };
    const last = [...prefix].at(-1);
    let tail;
    if (isSpace(last)) tail = prefix.slice(rstrip(prefix).length);
    else if (WORD_CHAR.test(last)) tail = inString ? last : identTail(prefix);
    else tail = last;
    const need = utf8.encode(tail).length;
    const limit = Math.min(ids.length, MAX_HEAL_TOKENS);
    let removed = 0, k = 0;
    while (k < limit && (removed < need || k === 0)) {
      k++;
      removed += (this.pieceBytes[ids[ids.length - k]] || []).length;
    }
    const bytesIsSpace = (b) => b.length > 0 && b.every((x) => x === 32 || (x >= 9 && x <= 13));
    while (k < limit && bytesIsSpace(this.pieceBytes[ids[ids.length - k - 1]] || [120])) k++;
    const keep = ids.slice(0, ids.length - k);
    const kept = utf8.encode(this.tok.decode(keep)).length;
    return { ids: keep, heal: [...utf8.encode(prefix).subarray(kept)] };
  }

  /** Make the cache hold prompt + ids, re-using the longest common prefix. */
  async feed(ids) {
    let common = 0;
    while (common < ids.length && common < this.cached.length && ids[common] === this.cached[common]) common++;
    if (common === ids.length && common === this.cached.length && this.lastLogits) return;
    common = ids.length ? Math.min(common, ids.length - 1) : 0;
    let fresh;
    if (!ids.length) { // nothing typed: logits at the end of the prompt
      this.cache = this.decoder.truncate(this.cache, this.promptIds.length - 1);
      fresh = this.promptIds.slice(-1);
    } else {
      this.cache = this.decoder.truncate(this.cache, this.promptIds.length + common);
      fresh = ids.slice(common);
    }
    const { logits, V, T, present } = await this.decoder.run([fresh], null, this.cache);
    this.lastLogits = logits.slice((T - 1) * V, T * V);
    this.cache = present;
    this.cached = [...ids];
  }

  /** Mask of tokens consistent with still having to type `heal` (case-insensitive). */
  allowed(heal) {
    const h = lowerAscii(heal);
    return this.pieceLower.map((p) => p !== null && p.length > 0 && (startsWith(h, p) || startsWith(p, h)));
  }

  /** Up to n distinct suggestions, best first, each the exact text to insert at the cursor.
   * With `onBest`, the best first token is extended alone first and reported as soon as it is
   * known (the page shows it as ghost text while the other rows run); the result is the same. */
  async complete(prefix, suffix = "", n = 5, onBest = null) {
    if (this.schema === null) this.setSchema("");
    prefix = tailOf(prefix.replace(CONTROL, " "));
    return afterEnd(prefix, await this.suggest(prefix, [...suffix].slice(0, MAX_SUFFIX_CHARS).join(""), n, onBest));
  }

  /** The first n distinct suggestions a person could take (menu.js's rules; sample.py's _listed). */
  listed(prefix, suffix, texts, n) {
    return distinct(this.menu.clean(prefix, suffix, texts), n, this.relations(prefix));
  }

  /** Names a qualifier (`x.`) may stand for: the schema's tables and the statement's words (aliases). */
  relations(prefix) {
    if (!this.tableNames) this.tableNames = [...parseSchema(this.schema).keys()].map((t) => t.toLowerCase());
    return new Set([...this.tableNames, ...knownWords(prefix)]);
  }

  async suggest(prefix, suffix, n, onBest) {
    await this.ensurePrompt(prefix);
    const proposals = this.ngram ? this.ngram.proposals(prefix, suffix, Math.max(n, this.rerankConfig.proposals)) : [];
    const spelled = proposals.filter(([, first]) => first !== null).map(([, first, rest]) => first + rest);
    const decoded = this.decoded; // the previous keystroke's own decoding, if it was one
    this.decoded = null;
    if (proposals.length && proposals[0][1] !== null && proposals[0][0] >= this.rerankConfig.sure) {
      // the model seldom overturns such a one (measured: no loss at 0.95): skip it; its cache catches up later
      return this.listed(prefix, suffix, proposals.filter(([, first]) => first !== null).map(([, first, rest]) => first + rest), n);
    }
    const inString = textState(prefix)[1];
    let { ids, heal } = this.heal(prefix, inString);
    const maxNew = inString ? IN_STRING_TOKENS : this.maxTokens;
    // room for the suggestion rows (or the reranked words) after the statement; a very long statement
    // keeps its tail (the schema stays)
    let longest = maxNew + heal.length;
    for (const [, first] of proposals) if (first) longest = Math.max(longest, heal.length + utf8.encode(first).length);
    const room = Math.max(this.config.max_seq_len - this.promptIds.length - longest - 1, 0);
    if (ids.length > room) ids = ids.slice(ids.length - room);
    if (proposals.length && proposals[0][1] !== null) {
      await this.feed(ids);
      return this.rerank(proposals, prefix, decodeIgnore(Uint8Array.from(heal)), n);
    }
    if (decoded && decoded[1] === suffix && prefix.length > decoded[0].length && prefix.startsWith(decoded[0])) {
      // the user typed what the last decoding predicted: the rest of it, without the model
      const typed = prefix.slice(decoded[0].length);
      const rest = decoded[2].filter((t) => t.startsWith(typed) && strip(t.slice(typed.length))).map((t) => t.slice(typed.length));
      if (rest.length && (inString || rest.length >= n)) { // outside a literal, a short menu is worth a decoding
        this.decoded = [prefix, suffix, rest];
        const shown = this.listed(prefix, suffix, rest.concat(spelled), n);
        if (onBest && shown.length) onBest(afterEnd(prefix, shown)[0]);
        return shown;
      }
    }
    await this.feed(ids);
    // case-insensitive: `sel` may continue as the model spells it (SELECT); only the missing part is returned
    const logits = Float32Array.from(this.lastLogits);
    const all = utf8.encode(prefix);
    const keptText = decodeIgnore(all.subarray(0, all.length - heal.length));
    const context = lastChars(keptText, 64);
    if (this.lexicon) {
      this.lexicon.addWords([...namesIn(keptText)]); // outside strings and comments
      const [word, inString] = textState(context);
      if (!inString) this.lexicon.bias(word).forEach((b, i) => (logits[i] += b));
    }
    if (heal.length) {
      this.allowed(heal).forEach((ok, i) => { if (!ok) logits[i] = -Infinity; });
    } else {
      for (const i of this.stopIds) if (i >= 0) logits[i] = -Infinity; // an empty suggestion helps no one
    }
    const finite = [...logits.keys()].filter((i) => Number.isFinite(logits[i]));
    const nBranch = Math.min(inString ? IN_STRING_ROWS : n + 1, finite.length); // +1: a duplicate
    if (!nBranch) return [];
    const ranked = finite.sort((a, b) => logits[b] - logits[a] || a - b);
    // a suggestion stops before a name found nowhere (none at all when its first word is one)
    const known = new Set([...this.schemaWords, ...knownWords(prefix, suffix)]);
    const lead = inString ? "'" : identTail(prefix);
    const spelling = spellingOf(this.schema), before = prefix.slice(0, prefix.length - lead.length);
    const valid = (t) => {
      if (!inString) t = requote(t, spelling, lead, before); // `Order Items WHERE` -> `"Order Items" WHERE`
      const at = inventedAt(t, known, this.sqlWords, lead);
      return at < 0 ? t : t.slice(0, at);
    };
    let texts = [];
    for (const start of [0, nBranch]) { // too few left: one more round of rows, then the n-gram's proposals fill the list
      const first = ranked.slice(start, start + nBranch);
      if (!first.length) break;
      if (onBest && start === 0) {
        texts = (await this.extend(first.slice(0, 1), heal, suffix, context, maxNew, inString)).map(valid);
        const best = this.menu.clean(prefix, suffix, texts);
        if (best.length && strip(best[0])) onBest(afterEnd(prefix, best)[0]);
        texts = texts.concat((await this.extend(first.slice(1), heal, suffix, context, maxNew, inString)).map(valid));
      } else {
        texts = texts.concat((await this.extend(first, heal, suffix, context, maxNew, inString)).map(valid));
      }
      if (inString || this.listed(prefix, suffix, texts.concat(spelled), n).length >= n) break;
    }
    this.decoded = [prefix, suffix, texts];
    return this.listed(prefix, suffix, texts.concat(spelled), n);
  }

  /** The n-gram proposes next words (it knows the schema's names and SQL's habits), the model weighs
   * them by the whole statement so far (where a literal the n-gram cannot spell comes next, or it has
   * no proposal, the model decodes on its own instead). sample.py's _rerank. */
  async rerank(proposals, prefix, heal, n) {
    const { weight, weight_mid: weightMid } = this.rerankConfig;
    const spelled = proposals.filter(([, first]) => first !== null);
    const modelLp = await this.logProbs(spelled.map(([, first]) => heal + first));
    const w = prefix && WORD_CHAR.test(prefix.at(-1)) ? weightMid : weight;
    const score = spelled.map(([p], i) => modelLp[i] + w * Math.log(p));
    // the model decides whether a schema name comes next, the n-gram which one
    const typed = identTail(prefix).toLowerCase();
    const isName = ([, first]) => this.ngram.schema.isName(typed + first); // bare, quoted or qualified
    const names = [...spelled.keys()].filter((i) => isName(spelled[i]));
    if (names.length) { // the names' share as one class, split among them by the n-gram
      let pNames = 0;
      for (const i of names) pNames += spelled[i][0];
      const top = Math.max(...names.map((i) => modelLp[i]));
      let sum = 0;
      for (const i of names) sum += Math.exp(modelLp[i] - top);
      // logsumexp in float64 (sample.py's torch one is float32: below the ONNX-vs-PyTorch difference)
      const classScore = top + Math.log(sum) + w * Math.log(pNames);
      for (const i of names) score[i] = classScore + Math.log(spelled[i][0] / pNames);
    }
    const order = [...spelled.keys()].sort((a, b) => (score[a] > score[b] ? -1 : score[a] < score[b] ? 1 : 0));
    return this.listed(prefix, "", order.map((i) => spelled[i][1] + spelled[i][2]), n);
  }

  /** The model's log P(text, then a word boundary) after the cached statement, for each text: one
   * batched pass over the shared prefix cache (sample.py's _log_probs). */
  async logProbs(texts) {
    const seqs = texts.map((t) => this.tok.encode(t));
    const longest = Math.max(...seqs.map((x) => x.length));
    let logits = null, V = this.lastLogits.length;
    if (longest) {
      const rows = seqs.map((x) => x.concat(new Array(longest - x.length).fill(0)));
      ({ logits, V } = await this.decoder.run(rows, this.cache, null));
    }
    const at = (b, j) => logits.subarray((b * longest + j) * V, (b * longest + j + 1) * V);
    const first = logSoftmax(this.lastLogits);
    const wordMass = (lp) => this.continuesWord.reduce((s, t) => s + Math.exp(lp[t]), 0);
    return seqs.map((x, b) => {
      if (!x.length) return Math.log1p(-Math.min(wordMass(first), 1 - 1e-6));
      let rest = 0;
      for (let j = 1; j < x.length; j++) rest += logSoftmax(at(b, j - 1))[x[j]];
      const pEnd = 1 - wordMass(logSoftmax(at(b, x.length - 1)));
      return first[x[0]] + rest + Math.log(Math.max(pEnd, 1e-6));
    });
  }

  /** Extend each first token greedily, up to maxNew tokens past the healed text (inside a string literal
   * a row ends where the literal does); rows that finish leave the batch (they share the cached prefix). */
  async extend(first, heal, suffix, context, maxNew, inString = false) {
    const out = first.map((t) => [t]);
    const remaining = first.map((t) => this.consume(heal, t));
    const generated = remaining.map((r) => (r.length ? 0 : 1)); // tokens past the healed text
    const done = out.map((o, b) => this.finished(o, remaining[b], inString && generated[b] > 0));
    const steps = maxNew + heal.length; // re-typing the healed text does not count against maxNew
    let active = out.map((_, b) => b).filter((b) => !done[b]);
    let past = null;
    for (let step = 0; step < steps - 1 && active.length; step++) {
      const { logits, V, present } = await this.decoder.run(active.map((b) => [out[b].at(-1)]), this.cache, past);
      active.forEach((b, i) => {
        const row = logits.subarray(i * V, (i + 1) * V);
        if (this.lexicon) {
          const text = context + decodeIgnore(Uint8Array.from(out[b].flatMap((t) => this.pieceBytes[t] || [])));
          const [word, inString] = textState(lastChars(text, 64));
          if (!inString) this.lexicon.bias(word).forEach((x, t) => (row[t] += x)); // float32, as torch adds
        }
        const mask = remaining[b].length ? this.allowed(remaining[b]) : null;
        let best = 0, bestValue = -Infinity;
        for (let t = 0; t < V; t++) {
          const v = mask && !mask[t] ? -Infinity : row[t];
          if (v > bestValue) [best, bestValue] = [t, v];
        }
        out[b].push(best);
        generated[b] += remaining[b].length ? 0 : 1;
        remaining[b] = this.consume(remaining[b], best);
        done[b] = this.finished(out[b], remaining[b], inString && generated[b] > 0) || generated[b] >= maxNew;
      });
      const still = active.map((b, i) => [b, i]).filter(([b]) => !done[b]);
      past = still.length === active.length ? present : this.decoder.rows(present, still.map(([, i]) => i));
      active = still.map(([b]) => b);
    }
    return out.map((o) => {
      const bytes = o.filter((t) => !this.stopIds.has(t)).flatMap((t) => this.pieceBytes[t] || []);
      return this.trim(decodeIgnore(Uint8Array.from(bytes.slice(heal.length))), suffix);
    });
  }

  consume(heal, token) {
    const p = this.pieceBytes[token] || [];
    return p.length < heal.length ? heal.slice(p.length) : [];
  }

  /** Whether a row is done: its last token ends the statement (or the literal it is inside). */
  finished(out, remaining, closesString = false) {
    if (remaining.length) return false;
    const last = out.at(-1);
    if (this.stopIds.has(last)) return true;
    const text = this.pieceBytes[last] || [];
    return text.includes(59) || (closesString && text.includes(39)) || (this.stop === "line" && text.includes(10)); // ; ' \n
  }

  /** Cut a suggestion at its stop rule and before text the suffix already holds. */
  trim(text, suffix) {
    if (text.includes(";")) text = text.slice(0, text.indexOf(";") + 1);
    const body = text.replace(/^\n+/, "");
    if ((this.stop === "line" || this.stop === "word") && body.includes("\n")) {
      const lead = text.length - body.length;
      text = text.slice(0, lead + body.indexOf("\n"));
    }
    if (this.stop === "word" || strip(suffix)) {
      const m = text.match(FIRST_WORD); // mid-line insertions: the first word only
      if (m) text = m[0];
    }
    if (strip(suffix)) {
      const head = [...strip(suffix).split(SPACES)[0]].slice(0, 20).join("");
      const at = text.indexOf(head);
      if (at > 0) text = text.slice(0, at);
    }
    return strip(text) ? text.replace(/\n+$/, "") : "";
  }
}
