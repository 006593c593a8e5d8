// Compare web/tokenizer.js with Python sentencepiece: node tokenizer_parity.mjs TOKENIZER.json CASES.jsonl
// CASES lines are {"text", "ids", "decoded"} (sp.encode, sp.decode) written by tests/test_web.py;
// prints a JSON summary.
import { readFileSync } from "node:fs";
import { Tokenizer } from "../tokenizer.js";

const [tokPath, casesPath] = process.argv.slice(2);
const tok = new Tokenizer(JSON.parse(readFileSync(tokPath, "utf8")));
const cases = readFileSync(casesPath, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const failures = [];
const t0 = performance.now();
let tokens = 0;
for (const { text, ids, decoded } of cases) {
  const got = tok.encode(text);
  tokens += got.length;
  const same = got.length === ids.length && got.every((id, i) => id === ids[i]);
  const back = tok.decode(got);
  if (!same || back !== decoded) failures.push({ text, want: ids, got, decoded: back });
}
const ms = performance.now() - t0;
console.log(JSON.stringify({ cases: cases.length, tokens, failures: failures.length, ms: Math.round(ms), first: failures.slice(0, 3) }));
process.exit(failures.length ? 1 : 0);
