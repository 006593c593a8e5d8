// menu.py's rules in web/menu.js: node web/test/menu_parity.mjs CASES.jsonl OUT.jsonl
// CASES: {"schema", "prefix", "suffix", "texts", "sql_vocabulary"?}; OUT: {"clean", "labels"} per case.
import { readFileSync, writeFileSync } from "node:fs";
import { Menu, menuItem, nameSpelling } from "../menu.js";
import { parseSchema } from "../schema.js";

const [casesPath, outPath] = process.argv.slice(2);
const lines = readFileSync(casesPath, "utf8").split("\n").filter((l) => l.trim());
let sqlWords = null, menu = null;
const out = [];
for (const line of lines) {
  const c = JSON.parse(line);
  if (c.sql_vocabulary) sqlWords = new Set(c.sql_vocabulary);
  if (!menu) menu = new Menu(sqlWords);
  menu.setSchema(c.schema);
  const clean = menu.clean(c.prefix, c.suffix, c.texts);
  const spelling = nameSpelling(parseSchema(c.schema));
  out.push(JSON.stringify({ clean, labels: clean.map((t) => menuItem(c.prefix, t, spelling, sqlWords).label) }));
}
writeFileSync(outPath, out.join("\n") + "\n");
