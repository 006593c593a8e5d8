// web/ngram.js's answers for tests/test_web.py to compare with completion/ngram.py:
//   node web/test/ngram_parity.mjs NGRAM.json.gz CASES.jsonl OUT.jsonl
// CASES lines are {"schema", "prefix", "suffix", "n"}; OUT lines {"proposals", "complete"}, in order.
import { readFileSync, writeFileSync } from "node:fs";
import { NgramCompleter, readModel } from "../ngram.js";

const [modelPath, casesPath, outPath] = process.argv.slice(2);
let t0 = performance.now();
const completer = new NgramCompleter(await readModel(readFileSync(modelPath)));
const loadMs = performance.now() - t0;
const cases = readFileSync(casesPath, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
t0 = performance.now();
const out = cases.map(({ schema, prefix, suffix, n }) => {
  completer.setSchema(schema);
  return JSON.stringify({ proposals: completer.proposals(prefix, suffix, n), complete: completer.complete(prefix, suffix, n) });
});
const ms = performance.now() - t0;
writeFileSync(outPath, out.join("\n") + "\n");
console.log(JSON.stringify({ cases: cases.length, load_ms: Math.round(loadMs), ms_per_case: +(ms / cases.length).toFixed(2) }));
