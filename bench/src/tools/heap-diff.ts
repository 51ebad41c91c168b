/**
 * What N idle connections cost on the heap, by constructor: diffs two heap snapshots that
 * `run.ts --only memory --heap-snapshot` wrote (0 and N clients) and prints the growth
 * per connection.
 *   tsx src/tools/heap-diff.ts results/heap/lifeline-0.heapsnapshot results/heap/lifeline-1000.heapsnapshot 1000
 */
import { readFile } from "node:fs/promises";

interface Snapshot {
  readonly snapshot: {
    readonly meta: { readonly node_fields: readonly string[]; readonly node_types: unknown[] };
  };
  readonly nodes: readonly number[];
  readonly strings: readonly string[];
}

async function bySelfSize(path: string): Promise<Map<string, { count: number; bytes: number }>> {
  const snap = JSON.parse(await readFile(path, "utf8")) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0] as readonly string[];
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const out = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!] ?? "?";
    const rawName = snap.strings[snap.nodes[i + nameAt]!] ?? "?";
    const name = type === "object" || type === "closure" ? rawName : `(${type})`;
    const key = `${type === "closure" ? "closure " : ""}${name}`.slice(0, 80);
    const entry = out.get(key) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += snap.nodes[i + sizeAt]!;
    out.set(key, entry);
  }
  return out;
}

const [before, after, clientsArg] = process.argv.slice(2);
if (before === undefined || after === undefined || clientsArg === undefined) {
  throw new Error("usage: heap-diff.ts <before.heapsnapshot> <after.heapsnapshot> <clients>");
}
const clients = Number(clientsArg);
const a = await bySelfSize(before);
const b = await bySelfSize(after);
const rows = [...b].map(([key, v]) => {
  const old = a.get(key) ?? { count: 0, bytes: 0 };
  return { key, count: (v.count - old.count) / clients, bytes: (v.bytes - old.bytes) / clients };
});
rows.sort((x, y) => y.bytes - x.bytes);
const total = rows.reduce((sum, r) => sum + r.bytes, 0);
process.stdout.write(`heap growth per connection: ${total.toFixed(0)} bytes\n`);
for (const r of rows.slice(0, 40)) {
  process.stdout.write(
    `${r.bytes.toFixed(0).padStart(7)} B  ${r.count.toFixed(2).padStart(6)} objs  ${r.key}\n`,
  );
}
