/**
 * Turns a scenario and the fixtures into load: request lines for wrk
 * (GraphQL or the hand-written endpoint) and a pgbench transaction script
 * running the endpoint's SQL inside the same wrapper. Each way cycles
 * through the same targets and the same viewers.
 */
import type { Fixtures } from "./fixtures";
import { clientAddress, type Scenario, type Target } from "./scenarios";

export type Mode = "graphql" | "endpoint" | "pgbench";

/**
 * Targets per read scenario, the same for all three ways (the data they
 * touch, and so what is cached, must be the same). pgbench gets them as a
 * literal in its script: a few hundred keep that cheap to evaluate.
 */
const READ_TARGETS = 200;

export function targetCount(scenario: Scenario, fixtures: Fixtures): number {
  return scenario.kind === "read" ? READ_TARGETS : fixtures.viewers.length;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** `count` wrk lines for targets [offset, offset + count). */
export function wrkLines(scenario: Scenario, mode: Exclude<Mode, "pgbench">, fixtures: Fixtures, offset: number, count: number): string {
  const lines: string[] = [];
  for (let i = offset; i < offset + count; i++) {
    const target: Target = scenario.pick(fixtures.pools, i);
    const headers = [`X-Forwarded-For: ${typeof target.ip === "string" ? target.ip : clientAddress(i)}`];
    if (scenario.identity === "viewer") headers.push(`Authorization: Bearer ${fixtures.viewers[i % fixtures.viewers.length].token}`);
    const body =
      mode === "graphql"
        ? JSON.stringify({ query: scenario.graphql, variables: scenario.variables(target) })
        : JSON.stringify({ params: scenario.params(target) });
    lines.push(`${mode === "graphql" ? "/graphql" : `/bench/${scenario.name}`}\t${headers.join("|")}\t${body}`);
  }
  return `${lines.join("\n")}\n`;
}

/** A SQL text[] literal (a single constant, parsed once per prepared statement). */
function textArray(values: Array<string | number>): string {
  const items = values.map((v) => `"${String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`);
  return `'{${items.join(",").replace(/'/g, "''")}}'::text[]`;
}

/**
 * The pgbench transaction. Viewers: begin; the settings the API sends for
 * that viewer (from agora_bench.viewers, see fixtures.ts); the scenario's SQL; commit. Login and refresh: the auth
 * function alone, as the API's auth service calls it. Refresh tokens work
 * once, so each client walks its own range: `bench-refresh-<base + client * perClient + n>`.
 */
export function pgbenchScript(scenario: Scenario, fixtures: Fixtures, offset: number): string {
  if (scenario.once) {
    // Client c's n-th transaction (from 0) is pair k = base + n · connections + c: viewer 1 + k % viewers and target 1 + k % targets,
    // the targets' count coprime with the viewers', so no pair repeats within viewers × targets transactions.
    // The targets are the scenario's own cycle (pick repeats with the pool's length, kept coprime with the viewers'
    // and at most READ_TARGETS by the fixture), so transaction k makes the same pair as wrk line k.
    const viewers = fixtures.viewers.length;
    const targets: Target[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < READ_TARGETS; i++) {
      const target = scenario.pick(fixtures.pools, offset + i);
      const key = JSON.stringify(scenario.params(target));
      if (seen.has(key)) break;
      seen.add(key);
      targets.push(target);
    }
    const count = targets.length;
    if (count > 1 && gcd(count, viewers) !== 1) throw new Error(`"${scenario.name}": ${count} targets share a factor with ${viewers} viewers`);
    const columns = scenario.paramTypes.map((_, p) => textArray(targets.map((t) => scenario.params(t)[p])));
    const sql = scenario.sql.replace(/\$(\d+)(::\w+)?/g, (_m, n: string) => `(${columns[Number(n) - 1]})[:t]::${scenario.paramTypes[Number(n) - 1]}`);
    return [
      "\\set k :base + :n * :c + :client_id",
      "\\set n :n + 1",
      `\\set v 1 + :k % ${viewers}`,
      `\\set t 1 + :k % ${count}`,
      "begin;",
      "select set_config(el->>0, el->>1, true) from agora_bench.viewers b, json_array_elements(b.settings) el where b.n = :v;",
      `${sql.replace(/\s*\n\s*/g, " ")};`,
      "commit;",
      "",
    ].join("\n");
  }
  if (scenario.identity === "refresh") {
    return [
      "\\set n :n + 1",
      "\\set k :base + :client_id * :per + :n",
      `select * from app_private.refresh_session('bench-refresh-' || :k, '10.0.0.1', 'bench');`,
      "",
    ].join("\n");
  }
  // Logins need many accounts (each may try 10 times in 15 minutes).
  const count = scenario.identity === "login" ? targetCount(scenario, fixtures) : Math.min(READ_TARGETS, targetCount(scenario, fixtures));
  const targets = Array.from({ length: count }, (_, i) => scenario.pick(fixtures.pools, offset + i));
  const columns = scenario.paramTypes.map((_, p) => textArray(targets.map((t) => scenario.params(t)[p])));
  const sql = scenario.sql.replace(/\$(\d+)(::\w+)?/g, (_m, n: string) => `(${columns[Number(n) - 1]})[:t]::${scenario.paramTypes[Number(n) - 1]}`);
  const lines = [`\\set t random(1, ${count})`];
  if (scenario.identity === "viewer") {
    lines.push(
      `\\set v random(1, ${fixtures.viewers.length})`,
      "begin;",
      "select set_config(el->>0, el->>1, true) from agora_bench.viewers b, json_array_elements(b.settings) el where b.n = :v;",
      `${sql.replace(/\s*\n\s*/g, " ")};`,
      "commit;",
    );
  } else {
    lines.push(`${sql.replace(/\s*\n\s*/g, " ")};`);
  }
  return `${lines.join("\n")}\n`;
}
