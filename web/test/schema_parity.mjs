// web/schema.js's schema reading for tests/test_web.py to compare with sql/schema.py:
//   node web/test/schema_parity.mjs CASES.jsonl OUT.jsonl
// CASES lines are {"schema", "keep"?, "budget"?, "requote"?: [[text, lead, before], ...]}; OUT lines
// {"tables", "types", "fkeys", "quoted", "qualified", "namespace", "fit", "requoted"}, in order.
import { readFileSync, writeFileSync } from "node:fs";
import { columnTypes, fitSchema, parseSchema, requote, spellingOf } from "../schema.js";

const [casesPath, outPath] = process.argv.slice(2);
const lines = readFileSync(casesPath, "utf8").split("\n").filter((l) => l.trim());
const entries = (map) => [...map].map(([k, v]) => [k, v instanceof Map ? entries(v) : v]);
const out = lines.map((line) => {
  const c = JSON.parse(line);
  const [types, fkeys] = columnTypes(c.schema);
  const spelling = spellingOf(c.schema);
  return JSON.stringify({
    tables: entries(parseSchema(c.schema)),
    types: entries(types),
    fkeys,
    quoted: entries(spelling.quoted),
    qualified: entries(spelling.qualified),
    namespace: entries(spelling.namespace),
    fit: c.budget ? fitSchema(c.schema, c.keep || [], c.budget) : null,
    requoted: (c.requote || []).map(([text, lead, before]) => requote(text, spelling, lead, before)),
  });
});
writeFileSync(outPath, out.join("\n") + "\n");
