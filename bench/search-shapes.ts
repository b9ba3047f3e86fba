/**
 * Where a search's PostgreSQL time goes, per query shape of the bench's mix
 * (bench/search-mix.ts): each query timed serially, as a benchmark viewer
 * (the authenticator's role switch and claims, as the API sends them), in
 * three layers — the whole search with 20 snippets, the same without
 * snippets, and the candidates alone — each query run `rounds` times, the
 * fastest kept. Serial and warm: it ranks the shapes and the layers; the
 * load test (`npm run bench`) measures throughput and tail latency.
 *
 * `npm run bench:search-shapes -- [--queries 200] [--rounds 3]` on a seeded
 * database that `npm run bench` has run on once (its viewers).
 */
import "../src/runtime";
import pg from "pg";
import { loadConfigOrExit } from "../src/config";
import { openDatabase } from "../src/db/connections";
import { makeLogger } from "../src/logger";
import { SET_TRANSACTION_SETTINGS } from "../src/db/session-settings";
import { SCENARIOS } from "./scenarios";
import { loadSearchMix, searchQuery, SHAPES } from "./search-mix";

/** The search scenario's own statement (the one pgbench runs), then the same without its snippets, then the candidates alone. */
const WHOLE = SCENARIOS.find((s) => s.name === "search")!.sql;
const WITHOUT_SNIPPETS = WHOLE.replace("s.snippet, ", "");
if (WITHOUT_SNIPPETS === WHOLE) throw new Error("The search scenario's statement no longer selects s.snippet: update bench/search-shapes.ts");

export const LAYERS = [
  { name: "whole search (20 snippets)", sql: WHOLE },
  { name: "without snippets", sql: WITHOUT_SNIPPETS },
  { name: "candidates only", sql: "select count(*) from app_hidden.search_candidates($1, null, null, null, null, null, null, null, true)" },
] as const;

export interface ShapeTimes {
  shape: string;
  queries: number;
  avgMs: number;
  p50Ms: number;
  maxMs: number;
}

export interface ShapeProfile {
  layers: Array<{ name: string; shapes: ShapeTimes[]; avgMs: number }>;
  /** The slowest queries of the first layer. */
  slowest: Array<{ ms: number; shape: string; query: string }>;
}

const average = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/**
 * Times queries 0 … queries-1 of the mix. `owner` reads the corpus (the mix
 * comes from the search table); `viewer` runs the searches as the first
 * benchmark viewer, one transaction per query.
 */
export async function profileSearchShapes(
  owner: pg.ClientBase,
  viewer: pg.ClientBase,
  options: { queries: number; rounds: number; onLayer?: (name: string) => void },
): Promise<ShapeProfile> {
  await loadSearchMix(owner);
  const { rows } = await viewer.query<{ settings: unknown }>("select settings from agora_bench.viewers order by n limit 1");
  if (rows.length === 0) throw new Error("No benchmark viewers: run `npm run bench` once on this database first");
  const settings = JSON.stringify(rows[0].settings);
  /** Runs `fn` as the viewer in a transaction of its own, rolled back. */
  const asViewer = async <T>(fn: () => Promise<T>): Promise<T> => {
    await viewer.query("begin");
    try {
      await viewer.query(SET_TRANSACTION_SETTINGS, [settings]);
      return await fn();
    } finally {
      await viewer.query("rollback");
    }
  };
  // Refuse to time searches as an anonymous visitor: the viewer's session must still be valid.
  const me = await asViewer(() => viewer.query<{ id: string | null }>("select app_public.current_user_id() as id"));
  if (!me.rows[0].id) throw new Error("The benchmark viewer is not signed in (its session ended): run `npm run bench` again first");
  const queries = Array.from({ length: options.queries }, (_, i) => searchQuery(i));
  const profile: ShapeProfile = { layers: [], slowest: [] };
  for (const layer of LAYERS) {
    options.onLayer?.(layer.name);
    const fastest = queries.map(() => Infinity);
    for (let round = 0; round < options.rounds; round++) {
      for (const [i, q] of queries.entries()) {
        const ms = await asViewer(async () => {
          const started = process.hrtime.bigint();
          await viewer.query(layer.sql, [q]);
          return Number(process.hrtime.bigint() - started) / 1e6;
        });
        fastest[i] = Math.min(fastest[i], ms);
      }
    }
    const shapes = SHAPES.map((shape, s) => {
      const times = fastest.filter((_, i) => i % SHAPES.length === s).sort((a, b) => a - b);
      return { shape, queries: times.length, avgMs: average(times), p50Ms: times[Math.floor(times.length / 2)], maxMs: times[times.length - 1] };
    }).filter((s) => s.queries > 0);
    profile.layers.push({ name: layer.name, shapes, avgMs: average(fastest) });
    if (profile.slowest.length === 0) {
      profile.slowest = fastest
        .map((ms, i) => ({ ms, shape: SHAPES[i % SHAPES.length], query: queries[i] }))
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 10);
    }
  }
  return profile;
}

/** The profile as markdown: one row per shape, one column per layer, then the slowest queries. */
export function shapesMarkdown(profile: ShapeProfile): string {
  const ms = (n: number) => n.toFixed(2);
  const lines = [
    `| shape | ${profile.layers.map((l) => `${l.name}, ms (avg / p50 / max)`).join(" | ")} |`,
    `|---|${profile.layers.map(() => "---:").join("|")}|`,
    ...profile.layers[0].shapes.map(
      (s, i) => `| ${s.shape} | ${profile.layers.map((l) => `${ms(l.shapes[i].avgMs)} / ${ms(l.shapes[i].p50Ms)} / ${ms(l.shapes[i].maxMs)}`).join(" | ")} |`,
    ),
    `| **all** | ${profile.layers.map((l) => `**${ms(l.avgMs)}**`).join(" | ")} |`,
    "",
    `Slowest queries (${profile.layers[0].name}):`,
    "",
    ...profile.slowest.map((q) => `- ${ms(q.ms)} ms, ${q.shape}: \`${q.query}\``),
  ];
  return lines.join("\n");
}

function flag(argv: string[], name: string, fallback: number): number {
  const at = argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(argv[at + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} takes a whole number, 1 or more`);
  return value;
}

async function main() {
  const argv = process.argv.slice(2);
  const options = { queries: flag(argv, "queries", 200), rounds: flag(argv, "rounds", 3) };
  const config = loadConfigOrExit();
  const database = await openDatabase(config, makeLogger(process.env.BENCH_LOG_LEVEL ?? "warn"));
  const owner = new pg.Client({ connectionString: database.ownerUrl });
  const viewer = new pg.Client({ connectionString: database.authUrl });
  try {
    await owner.connect();
    await viewer.connect();
    const profile = await profileSearchShapes(owner, viewer, {
      ...options,
      onLayer: (name) => process.stderr.write(`timing ${options.queries} queries × ${options.rounds} rounds: ${name}\n`),
    });
    process.stdout.write(`${shapesMarkdown(profile)}\n`);
  } finally {
    await owner.end().catch(() => undefined);
    await viewer.end().catch(() => undefined);
    await database.embedded?.stop();
  }
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
