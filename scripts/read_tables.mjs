// Reads mixopt's Arrow IPC and Parquet tables with independent
// implementations (the apache-arrow and hyparquet npm packages) and prints,
// per file, its row count, column names, schema metadata keys and the sum of
// every numeric column, as JSON. The Go test compares these with its own.
//
// Usage: node scripts/read_tables.mjs FILE...   (NODE_PATH=.tmp/node/node_modules)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

import { resolve } from "node:path";
const require = createRequire(process.env.NODE_PATH ? resolve(process.env.NODE_PATH) + "/" : import.meta.url);
const arrow = require("apache-arrow");

async function readParquet(path) {
  const { parquetReadObjects, parquetMetadata } = await import(require.resolve("hyparquet"));
  const { compressors } = await import(require.resolve("hyparquet-compressors"));
  const buf = readFileSync(path);
  const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const meta = parquetMetadata(file);
  const rows = await parquetReadObjects({ file, compressors });
  const columns = meta.schema.slice(1).map((s) => s.name);
  const keys = (meta.key_value_metadata || []).map((kv) => kv.key).filter((k) => k !== "ARROW:schema");
  return { columns, rows, keys };
}

function readArrow(path) {
  const table = arrow.tableFromIPC(readFileSync(path));
  const columns = table.schema.fields.map((f) => f.name);
  const rows = table.toArray().map((r) => r.toJSON());
  const keys = [...table.schema.metadata.keys()];
  return { columns, rows, keys };
}

function summarise(path, { columns, rows, keys }) {
  const sums = {};
  for (const c of columns) {
    let sum = 0, numeric = false;
    for (const r of rows) {
      let v = r[c];
      if (typeof v === "bigint") v = Number(v);
      if (typeof v === "number" && Number.isFinite(v)) { sum += v; numeric = true; }
    }
    if (numeric) sums[c] = sum;
  }
  return { file: path, rows: rows.length, columns, metadata: keys.sort(), sums };
}

const out = [];
for (const path of process.argv.slice(2)) {
  const data = path.endsWith(".parquet") ? await readParquet(path) : readArrow(path);
  out.push(summarise(path, data));
}
process.stdout.write(JSON.stringify(out, null, 1) + "\n");
