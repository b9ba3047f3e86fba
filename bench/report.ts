/** The benchmark's results as JSON, a markdown table and an SVG chart of the ratios. */
import type { Mode } from "./requests";

export interface Run {
  scenario: string;
  mode: Mode;
  connections: number;
  requests: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  /** Statements the database received per request, all and without the transaction/settings wrapper (null: no pg_stat_statements). */
  statementsPerRequest: number | null;
  dataStatementsPerRequest: number | null;
  /** Mean execution time in PostgreSQL of those data statements, ms. */
  sqlMs: number | null;
  /** For scenarios naming triggers (react: the reputation ledger), their mean time per call, ms (pg_stat_user_functions). */
  triggerMs?: number | null;
  /** Cores busy on average during the run. */
  cpu: { node: number; postgres: number; load: number };
  peakRssMb: number;
}

export interface Ratio {
  scenario: string;
  connections: number;
  graphqlOverEndpoint: number | null;
  graphqlOverPgbench: number | null;
}

export interface Results {
  date: string;
  machine: Record<string, string | number>;
  settings: Record<string, string | number>;
  runs: Run[];
  ratios: Ratio[];
}

export function ratiosOf(runs: Run[]): Ratio[] {
  const out: Ratio[] = [];
  const key = (r: Run) => `${r.scenario}@${r.connections}`;
  for (const k of [...new Set(runs.map(key))]) {
    const of = (mode: Mode) => runs.find((r) => key(r) === k && r.mode === mode);
    const g = of("graphql");
    const e = of("endpoint");
    const p = of("pgbench");
    const ratio = (other?: Run) => (g && other && other.rps > 0 ? Number((g.rps / other.rps).toFixed(3)) : null);
    out.push({ scenario: (g ?? e ?? p)!.scenario, connections: (g ?? e ?? p)!.connections, graphqlOverEndpoint: ratio(e), graphqlOverPgbench: ratio(p) });
  }
  return out;
}

const fixed = (n: number | null, digits = 0) => (n === null ? "–" : n.toFixed(digits));

export function markdown(results: Results): string {
  const lines = [
    `# Benchmark ${results.date}`,
    "",
    Object.entries(results.machine).map(([k, v]) => `${k}: ${v}`).join(" · "),
    "",
    Object.entries(results.settings).map(([k, v]) => `${k}: ${v}`).join(" · "),
    "",
    "| scenario | c | way | req/s | p50 ms | p95 ms | p99 ms | errors | stmts/req | data stmts/req | SQL ms | CPU node | CPU postgres | CPU load gen | peak RSS MB |",
    "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...results.runs.map(
      (r) =>
        `| ${r.scenario} | ${r.connections} | ${r.mode} | ${fixed(r.rps)} | ${fixed(r.p50, 1)} | ${fixed(r.p95, 1)} | ${fixed(r.p99, 1)} | ${r.errors} | ${fixed(r.statementsPerRequest, 2)} | ${fixed(r.dataStatementsPerRequest, 2)} | ${fixed(r.sqlMs, 2)} | ${fixed(r.cpu.node, 2)} | ${fixed(r.cpu.postgres, 2)} | ${fixed(r.cpu.load, 2)} | ${r.mode === "pgbench" ? "–" : fixed(r.peakRssMb)} |`,
    ),
    "",
    ...triggerLines(results.runs),
    "| scenario | c | GraphQL ÷ endpoint | GraphQL ÷ pgbench |",
    "|---|---:|---:|---:|",
    ...results.ratios.map((r) => `| ${r.scenario} | ${r.connections} | ${fixed(r.graphqlOverEndpoint, 2)} | ${fixed(r.graphqlOverPgbench, 2)} |`),
    "",
  ];
  return lines.join("\n");
}

/**
 * The cost of the triggers a scenario names (react: the reputation ledger),
 * against the whole transaction as pgbench times it and the data statement.
 */
function triggerLines(runs: Run[]): string[] {
  const rows = runs.filter((r) => r.triggerMs !== undefined && r.triggerMs !== null);
  if (rows.length === 0) return [];
  return [
    "| scenario | c | way | transaction p50 ms (pgbench: the whole transaction) | data statement ms | of which named triggers ms |",
    "|---|---:|---|---:|---:|---:|",
    ...rows.map((r) => `| ${r.scenario} | ${r.connections} | ${r.mode} | ${fixed(r.p50, 2)} | ${fixed(r.sqlMs, 2)} | ${fixed(r.triggerMs ?? null, 2)} |`),
    "",
  ];
}

/** Horizontal bars per scenario and concurrency: GraphQL ÷ endpoint and GraphQL ÷ pgbench, with the feed targets marked. */
export function svgChart(results: Results): string {
  const rows = results.ratios;
  const barH = 9;
  const rowH = 2 * barH + 8;
  const left = 170;
  const width = 720;
  const plotW = width - left - 30;
  const top = 50;
  const height = top + rows.length * rowH + 40;
  const max = Math.max(1, ...rows.flatMap((r) => [r.graphqlOverEndpoint ?? 0, r.graphqlOverPgbench ?? 0]));
  const x = (v: number) => left + (v / max) * plotW;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="18" font-size="14" font-weight="bold">GraphQL throughput relative to the same rows without it (${results.date})</text>`,
    `<rect x="${left}" y="28" width="10" height="10" fill="#2b6cb0"/><text x="${left + 14}" y="37">GraphQL ÷ hand-written endpoint</text>`,
    `<rect x="${left + 220}" y="28" width="10" height="10" fill="#dd6b20"/><text x="${left + 234}" y="37">GraphQL ÷ pgbench (the database alone)</text>`,
  ];
  for (const tick of [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5].filter((t) => t <= max)) {
    parts.push(`<line x1="${x(tick)}" y1="${top - 4}" x2="${x(tick)}" y2="${height - 30}" stroke="#ddd"/>`);
    parts.push(`<text x="${x(tick)}" y="${height - 16}" text-anchor="middle">${tick}</text>`);
  }
  for (const [value, label] of [[0.8, "target 0.8"], [0.35, "target 0.35"]] as const) {
    parts.push(`<line x1="${x(value)}" y1="${top - 4}" x2="${x(value)}" y2="${height - 30}" stroke="#c53030" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${x(value) + 3}" y="${height - 32}" fill="#c53030">${label}</text>`);
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    parts.push(`<text x="${left - 6}" y="${y + barH + 3}" text-anchor="end">${r.scenario} c=${r.connections}</text>`);
    for (const [j, value, color] of [[0, r.graphqlOverEndpoint, "#2b6cb0"], [1, r.graphqlOverPgbench, "#dd6b20"]] as const) {
      if (value === null) continue;
      const by = y + j * barH;
      parts.push(`<rect x="${left}" y="${by}" width="${Math.max(1, x(value) - left)}" height="${barH - 1}" fill="${color}"/>`);
      parts.push(`<text x="${x(value) + 3}" y="${by + barH - 1}" font-size="9">${value.toFixed(2)}</text>`);
    }
  });
  parts.push("</svg>");
  return parts.join("\n");
}
