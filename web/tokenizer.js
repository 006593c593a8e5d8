// SentencePiece BPE in JavaScript, giving exactly the ids of the Python `sentencepiece` package
// for the settings web/export.py accepts (identity normalization, no dummy prefix, byte fallback).
// It follows sentencepiece's bpe_model.cc: user-defined symbols are matched first and never merged,
// then the adjacent pair whose merged piece scores highest is merged (ties: leftmost) until no
// merged piece is in the vocabulary; a symbol left outside it becomes its UTF-8 <0xNN> byte pieces.

const NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;
const SPACE = "\u2581";
const utf8 = new TextEncoder();

export class Tokenizer {
  constructor(json) {
    this.pieces = json.pieces.map((p) => p[0]);
    this.scores = json.pieces.map((p) => p[1]);
    this.types = json.pieces.map((p) => p[2]);
    this.unkId = json.unk_id;
    this.bosId = json.bos_id;
    this.eosId = json.eos_id;
    this.vocab = new Map(); // pieces merges may produce (sentencepiece's pieces_)
    this.byteIds = new Array(256).fill(-1);
    this.userDefined = [];
    this.types.forEach((type, id) => {
      const piece = this.pieces[id];
      if (type === NORMAL || type === USER_DEFINED || type === UNUSED) this.vocab.set(piece, id);
      if (type === USER_DEFINED) this.userDefined.push(piece);
      if (type === BYTE) this.byteIds[parseInt(piece.slice(3, 5), 16)] = id;
    });
    this.userDefined.sort((a, b) => b.length - a.length); // longest match first
    // each id's text as UTF-8 bytes, as sp.decode renders it (control pieces are empty)
    this.bytes = this.pieces.map((piece, id) => {
      const type = this.types[id];
      if (type === BYTE) return Uint8Array.of(parseInt(piece.slice(3, 5), 16));
      if (type === CONTROL) return new Uint8Array(0);
      if (type === UNKNOWN) return utf8.encode(" \u2047 ");
      return utf8.encode(piece.replaceAll(SPACE, " "));
    });
  }

  get size() {
    return this.pieces.length;
  }

  isByte(id) {
    return this.types[id] === BYTE;
  }

  isControl(id) {
    return this.types[id] === CONTROL;
  }

  isUnknown(id) {
    return this.types[id] === UNKNOWN;
  }

  pieceToId(piece) {
    const id = this.pieces.indexOf(piece);
    return id < 0 ? this.unkId : id;
  }

  /** Token ids of `text` (a JS string; lone surrogates count as U+FFFD, as invalid UTF-8 does). */
  encode(text) {
    const s = text.toWellFormed ? text.toWellFormed() : text;
    const normalized = s.replaceAll(" ", SPACE);
    // initial symbols: user-defined symbols (frozen) or single code points
    const sym = [];
    for (let i = 0; i < normalized.length; ) {
      const user = this.userDefined.find((u) => normalized.startsWith(u, i));
      const len = user ? user.length : normalized.codePointAt(i) > 0xffff ? 2 : 1;
      sym.push({ piece: normalized.slice(i, i + len), freeze: !!user, prev: sym.length - 1, next: -1 });
      i += len;
    }
    sym.forEach((s, i) => (s.next = i + 1 < sym.length ? i + 1 : -1));
    const agenda = new PairHeap();
    const revMerge = new Map(); // unused pieces are re-split into what they were merged from
    const addPair = (left, right) => {
      if (left < 0 || right < 0 || sym[left].freeze || sym[right].freeze) return;
      const piece = sym[left].piece + sym[right].piece;
      const id = this.vocab.get(piece);
      if (id === undefined) return;
      agenda.push({ left, right, score: this.scores[id], size: piece.length });
      if (this.types[id] === UNUSED) revMerge.set(piece, [sym[left].piece, sym[right].piece]);
    };
    for (let i = 1; i < sym.length; i++) addPair(i - 1, i);
    while (agenda.size) {
      const top = agenda.pop();
      const l = sym[top.left], r = sym[top.right];
      if (!l.piece || !r.piece || l.piece.length + r.piece.length !== top.size) continue; // stale
      l.piece += r.piece;
      r.piece = "";
      l.next = r.next;
      if (r.next >= 0) sym[r.next].prev = top.left;
      addPair(l.prev, top.left);
      addPair(top.left, l.next);
    }
    const ids = [];
    const emit = (piece) => {
      const id = this.vocab.get(piece);
      if (id !== undefined && revMerge.has(piece)) {
        for (const part of revMerge.get(piece)) emit(part);
      } else if (id !== undefined) {
        ids.push(id);
      } else {
        for (const b of utf8.encode(piece)) ids.push(this.byteIds[b] >= 0 ? this.byteIds[b] : this.unkId);
      }
    };
    for (let i = sym.length ? 0 : -1; i !== -1; i = sym[i].next) emit(sym[i].piece);
    return ids;
  }

  /** UTF-8 bytes of ids, as sp.decode joins them before turning them into text. */
  decodeBytes(ids) {
    const parts = ids.map((id) => this.bytes[id]);
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  decode(ids) {
    return new TextDecoder().decode(this.decodeBytes(ids));
  }
}

// A binary max-heap of merge candidates: highest score first, then the leftmost.
class PairHeap {
  constructor() {
    this.items = [];
  }
  get size() {
    return this.items.length;
  }
  static before(a, b) {
    return a.score > b.score || (a.score === b.score && a.left < b.left);
  }
  push(item) {
    const h = this.items;
    h.push(item);
    for (let i = h.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!PairHeap.before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }
  pop() {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1, r = l + 1;
        let best = i;
        if (l < h.length && PairHeap.before(h[l], h[best])) best = l;
        if (r < h.length && PairHeap.before(h[r], h[best])) best = r;
        if (best === i) break;
        [h[i], h[best]] = [h[best], h[i]];
        i = best;
      }
    }
    return top;
  }
}
