// The batch contract of sample.py (EVAL.md) on the page's completer, under node:
//   node web/batch.mjs --batch IN.jsonl --out OUT.jsonl [--model web/model] [--variant fp32|int8] [--num 5]
//                      [--ngram none|PATH]
// so that ../shared/eval/score.py can score exactly what the browser suggests. The n-gram whose
// proposals the model reranks is the export's (config.json), as on the page; `--ngram none` runs the
// model alone, `--ngram PATH` another completion/ngram.py model.
import { readFileSync, writeFileSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-web";
import { Completer, Decoder } from "./completer.js";
import { NgramCompleter, readModel } from "./ngram.js";
import { Tokenizer } from "./tokenizer.js";

/** A Completer from a directory written by web/export.py; ngram: "default" (the export's), "none" or a path. */
export async function loadCompleter(dir, variant = "fp32", { ngram = "default", ...options } = {}) {
  ort.env.wasm.numThreads = 1; // one core per request is fastest for these sizes (and fair to the page)
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  if (!config.files[variant]) throw new Error(`${dir} has no ${variant} model (export with --int8?)`);
  const tok = new Tokenizer(JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")));
  const decoder = await Decoder.create(ort, readFileSync(join(dir, config.files[variant])), config);
  const file = ngram === "none" ? null : ngram === "default" ? config.ngram?.file && join(dir, config.ngram.file) : ngram;
  const settings = config.ngram || {};
  options.ngram = file ? new NgramCompleter(await readModel(readFileSync(file)),
    { maxTokens: settings.max_tokens, minProb: settings.min_prob }) : null;
  return new Completer(decoder, tok, options);
}

async function main(argv) {
  const arg = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
  const here = dirname(fileURLToPath(import.meta.url));
  const [inPath, outPath] = [arg("--batch"), arg("--out")];
  if (!inPath || !outPath) throw new Error("usage: node web/batch.mjs --batch IN.jsonl --out OUT.jsonl [--model DIR] [--variant fp32|int8] [--num 5] [--ngram none|PATH]");
  const num = Number(arg("--num", 5));
  const completer = await loadCompleter(arg("--model", join(here, "model")), arg("--variant", "fp32"),
    { maxTokens: Number(arg("--max-tokens", 16)), ngram: arg("--ngram", "default") });
  const requests = readFileSync(inPath, "utf8").split("\n").filter((l) => l.trim()).map((line, i) => {
    try {
      return JSON.parse(line);
    } catch (e) {
      return { id: null, error: `line ${i + 1}: ${e.message}` };
    }
  });
  // schema work once per schema: requests grouped by schema, prefixes in order (cache reuse)
  const key = (r) => [String(r.schema ?? ""), String(r.prefix ?? "")];
  const order = [...requests.keys()].sort((a, b) => {
    const [x, y] = [key(requests[a]), key(requests[b])];
    return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0;
  });
  const results = new Array(requests.length);
  const t0 = performance.now();
  let errors = 0;
  for (const i of order) {
    const r = requests[i];
    try {
      if (r.error) throw new Error(r.error);
      if (typeof r.prefix !== "string") throw new Error("prefix must be a string");
      completer.setSchema(r.schema || "");
      results[i] = { id: r.id, completions: await completer.complete(r.prefix, r.suffix || "", num) };
    } catch (e) { // one bad request must not stop the batch
      errors++;
      results[i] = { id: r.id ?? null, completions: [], error: String(e.message || e).slice(0, 500) };
    }
  }
  writeFileSync(outPath + ".tmp", results.map((r) => JSON.stringify(r) + "\n").join(""));
  renameSync(outPath + ".tmp", outPath);
  const seconds = (performance.now() - t0) / 1000;
  console.error(JSON.stringify({ requests: requests.length, errors, seconds: +seconds.toFixed(2),
    ms_per_request: +(1000 * seconds / Math.max(requests.length, 1)).toFixed(1) }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => { console.error(e.message || e); process.exit(1); });
}
