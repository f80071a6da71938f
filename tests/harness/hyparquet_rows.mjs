// hyparquet_rows.mjs - the second independent Parquet reader of the tests:
// hyparquet (npm, pure JavaScript, with hyparquet-compressors for snappy,
// zstd and gzip) reads a file and prints it in a canonical text form that
// tests compare with the source database's own rendering.
//
//   node hyparquet_rows.mjs FILE          one JSON array a row, column order
//   node hyparquet_rows.mjs --meta FILE   one JSON object a column chunk
//
// Env: HYPARQUET_DIR, the folder whose node_modules holds both packages.
// Values, each a string or null: integers and decimals exactly (decimals
// with their scale, from the unscaled integer, never through a double),
// floats as JavaScript prints them, booleans true/false, strings and JSON as
// their text, bytes without a logical type as lowercase hex, UUIDs in their
// 8-4-4-4-12 form, DATE as days since 1970-01-01, TIME and TIMESTAMP as
// microseconds.
const dir = process.env.HYPARQUET_DIR;
if (!dir) {
  console.error('hyparquet_rows: HYPARQUET_DIR is not set');
  process.exit(2);
}
const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } =
  await import(dir + '/node_modules/hyparquet/src/node.js');
const { compressors } = await import(dir + '/node_modules/hyparquet-compressors/src/index.js');

const args = process.argv.slice(2);
const meta = args[0] === '--meta';
const path = meta ? args[1] : args[0];
const file = await asyncBufferFromFile(path);
const metadata = await parquetMetadataAsync(file);

if (meta) {
  for (const [g, rg] of metadata.row_groups.entries()) {
    for (const cc of rg.columns) {
      const m = cc.meta_data;
      console.log(JSON.stringify({
        row_group: g, column: m.path_in_schema.join('.'), rows: String(rg.num_rows),
        encodings: m.encodings, codec: m.codec,
        dictionary_page_offset: m.dictionary_page_offset === undefined ? null : String(m.dictionary_page_offset),
        data_page_offset: String(m.data_page_offset),
        encoding_stats: (m.encoding_stats || []).map(s => `${s.page_type}/${s.encoding}/${s.count}`),
        null_count: m.statistics && m.statistics.null_count !== undefined ? String(m.statistics.null_count) : null,
      }));
    }
  }
  process.exit(0);
}

// Decimals: read as their unscaled integers (the annotations are taken off a
// copy of the schema) and printed with their scale here.
const leaves = metadata.schema.slice(1);
const scale = {};
for (const el of leaves) {
  if (el.converted_type === 'DECIMAL' || el.logical_type?.type === 'DECIMAL') {
    scale[el.name] = el.scale ?? el.logical_type?.scale ?? 0;
    delete el.converted_type;
    delete el.logical_type;
  }
}
const decoder = new TextDecoder('utf-8', { fatal: true });
const parsers = {
  timestampFromMilliseconds: v => String(BigInt(v) * 1000n),
  timestampFromMicroseconds: v => String(v),
  timestampFromNanoseconds: v => String(BigInt(v) / 1000n),
  dateFromDays: v => String(v),
  stringFromBytes: b => b && decoder.decode(b),
  jsonFromBytes: b => b && decoder.decode(b),
  uuidFromBytes: b => {
    if (!b) return undefined;
    const h = Array.from(b, x => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  },
};

function unscaled(v) {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  let x = 0n; // big-endian two's complement
  for (const byte of v) x = x * 256n + BigInt(byte);
  if (v.length && v[0] & 0x80) x -= 1n << BigInt(8 * v.length);
  return x;
}

function decimalText(v, s) {
  const x = unscaled(v);
  const digits = (x < 0n ? -x : x).toString().padStart(s + 1, '0');
  const text = s ? digits.slice(0, digits.length - s) + '.' + digits.slice(digits.length - s) : digits;
  return (x < 0n ? '-' : '') + text;
}

function render(name, v) {
  if (v === null || v === undefined) return null;
  if (name in scale) return decimalText(v, scale[name]);
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Uint8Array) return Array.from(v, x => x.toString(16).padStart(2, '0')).join('');
  throw new Error(`column ${name}: a value of an unexpected kind: ${Object.prototype.toString.call(v)}`);
}

const rows = await parquetReadObjects({ file, metadata, compressors, parsers, utf8: false });
const names = leaves.map(el => el.name);
const out = [];
for (const row of rows) {
  out.push(JSON.stringify(names.map(n => render(n, row[n]))));
  if (out.length === 4096) {
    process.stdout.write(out.join('\n') + '\n');
    out.length = 0;
  }
}
if (out.length) process.stdout.write(out.join('\n') + '\n');
