// The model (and the n-gram whose proposals it reranks) runs here, off the page's main thread, so
// typing never waits for it.
// Messages in:  {type: "load", variant, ngram: "none" for the model alone} | {type: "schema", schema} | {type: "complete", id, schema, prefix, suffix, n}
// Messages out: {type: "ready", ...} | {type: "schema", ...} | {type: "best", id, text, ms} | {type: "result", id, suggestions, ms}
//               | {type: "error", id, message}
import * as ort from "./node_modules/onnxruntime-web/dist/ort.wasm.min.mjs";
import { Completer, Decoder } from "./completer.js";
import { NgramCompleter, readModel } from "./ngram.js";
import { Tokenizer } from "./tokenizer.js";

ort.env.wasm.wasmPaths = new URL("./node_modules/onnxruntime-web/dist/", import.meta.url).href;
ort.env.wasm.numThreads = 1; // no cross-origin isolation on a plain static server; one core is enough
ort.env.wasm.proxy = false;

let completer = null;
let queue = Promise.resolve(); // one message at a time: the completer's cache is shared state

const getJSON = async (url) => {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} (run web/export.py first)`);
  return r.json();
};

/** The n-gram of config.json (gzipped JSON; DecompressionStream unpacks it), or null. */
async function loadNgram(base, config) {
  const settings = config.ngram;
  if (!settings || !settings.file) return null;
  const url = new URL(settings.file, base);
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} (run web/export.py first)`);
  const model = await readModel(await r.arrayBuffer());
  return new NgramCompleter(model, { maxTokens: settings.max_tokens, minProb: settings.min_prob });
}

async function load({ variant, ngram: useNgram }) {
  const base = new URL("./model/", import.meta.url);
  const config = await getJSON(new URL("config.json", base));
  variant = config.files[variant] ? variant : config.page_default || "fp32";
  const tok = new Tokenizer(await getJSON(new URL("tokenizer.json", base)));
  const t0 = performance.now();
  const [decoder, ngram] = await Promise.all([
    Decoder.create(ort, new URL(config.files[variant], base).href, config),
    useNgram === "none" ? null : loadNgram(base, config),
  ]);
  completer = new Completer(decoder, tok, { maxTokens: config.page_max_tokens || 16, ngram });
  return { type: "ready", variant, bytes: config.sizes[variant], ms: performance.now() - t0, ckpt: config.ckpt,
           ngram: ngram ? config.ngram.bytes || true : null, sqlWords: [...completer.sqlWords] };
}

async function schema(msg) {
  completer.setSchema(msg.schema);
  const t0 = performance.now();
  const prefilled = await completer.ensurePrompt(msg.prefix || "");
  return { type: "schema", prefilled, tokens: completer.promptIds.length, ms: performance.now() - t0 };
}

async function complete(msg) {
  const t0 = performance.now();
  completer.setSchema(msg.schema);
  const onBest = (text) => postMessage({ type: "best", id: msg.id, text, ms: performance.now() - t0 });
  const suggestions = await completer.complete(msg.prefix, msg.suffix || "", msg.n || 5, onBest);
  return { type: "result", id: msg.id, suggestions, ms: performance.now() - t0, prompt: completer.promptIds.length,
           cached: completer.cached.length };
}

const handlers = { load, schema, complete };

onmessage = ({ data }) => {
  queue = queue.then(async () => {
    try {
      postMessage(await handlers[data.type](data));
    } catch (e) {
      postMessage({ type: "error", id: data.id, message: String(e.message || e) });
    }
  });
};
