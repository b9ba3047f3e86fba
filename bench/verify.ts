/**
 * Before measuring: each read scenario's GraphQL document and hand-written
 * endpoint must return the same rows (compared by the ids in the answers),
 * or the benchmark would compare different work.
 */
import type { Fixtures } from "./fixtures";
import type { Scenario } from "./scenarios";

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

async function post(url: string, token: string, body: unknown): Promise<string> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}`, "X-Forwarded-For": "10.255.255.1" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200 || text.includes('"errors"')) throw new Error(`${url} answered ${res.status}: ${text.slice(0, 500)}`);
  return text;
}

export async function verifySameRows(apiUrl: string, scenarios: Scenario[], fixtures: Fixtures): Promise<void> {
  for (const scenario of scenarios.filter((s) => s.kind === "read")) {
    const target = scenario.pick(fixtures.pools, 0);
    const token = fixtures.viewers[0].token;
    const viaGraphql = await post(`${apiUrl}/graphql`, token, { query: scenario.graphql, variables: scenario.variables(target) });
    const viaEndpoint = await post(`${apiUrl}/bench/${scenario.name}`, token, { params: scenario.params(target) });
    const ids = (text: string) => [...new Set(text.match(UUID) ?? [])].sort();
    const [a, b] = [ids(viaGraphql), ids(viaEndpoint)];
    if (a.length === 0 || a.join() !== b.join()) {
      throw new Error(`"${scenario.name}": GraphQL and the hand-written endpoint return different rows (${a.length} vs ${b.length} ids)`);
    }
    process.stderr.write(`verified ${scenario.name}: GraphQL and endpoint return the same ${a.length} ids\n`);
  }
}
