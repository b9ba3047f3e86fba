/**
 * Query plans as a test reads them: a flat list of plan nodes, for the
 * statement exactly as a member runs it (role authenticated, their claims),
 * optionally with the plans of the statements it runs inside functions.
 */
import type pg from "pg";

export interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}

/** The node and all nodes below it, depth first. */
export function walk(node: PlanNode, out: PlanNode[] = []): PlanNode[] {
  out.push(node);
  for (const child of node.Plans ?? []) walk(child, out);
  return out;
}

/**
 * Turns auto_explain on for the rest of `client`'s transaction: every
 * statement, nested ones included (those run inside functions), reported as
 * a JSON notice. Superuser settings: call it before switching to a member's
 * role.
 */
export async function autoExplainNested(client: pg.ClientBase, options: { analyze?: boolean } = {}): Promise<void> {
  await client.query("load 'auto_explain'");
  const settings = ["log_min_duration = 0", "log_nested_statements = on", "log_format = json", "log_level = notice"];
  if (options.analyze) settings.push("log_analyze = on");
  for (const setting of settings) await client.query(`set local auto_explain.${setting}`);
}

/** The statements (text and flat plan) auto_explain reported on `client` while `run` ran. */
export async function plansDuring(client: pg.ClientBase, run: () => Promise<unknown>): Promise<Array<{ text: string; nodes: PlanNode[] }>> {
  const plans: Array<{ text: string; nodes: PlanNode[] }> = [];
  const onNotice = (notice: { message?: string }) => {
    const json = notice.message?.replace(/^duration: [\d.]+ ms\s+plan:\s*/, "");
    if (!json?.startsWith("{")) return;
    const explained = JSON.parse(json) as { "Query Text": string; Plan: PlanNode };
    plans.push({ text: explained["Query Text"], nodes: walk(explained.Plan) });
  };
  client.on("notice", onNotice);
  try {
    await run();
  } finally {
    client.off("notice", onNotice);
  }
  return plans;
}

/**
 * EXPLAINs `text` as `user`, in a transaction that is rolled back.
 * `nested`: first runs it once under auto_explain and adds the plans of the
 * statements it ran inside functions (e.g. a security-definer search);
 * `analyze` makes those nested plans carry actual row counts.
 * DEBUG_PLANS=1 prints the text plan.
 */
export async function explainAs(
  pool: pg.Pool,
  user: { id: string; sessionId: string },
  text: string,
  values: unknown[],
  options: { nested?: boolean; analyze?: boolean } = {},
): Promise<PlanNode[]> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    if (options.nested) await autoExplainNested(client, options);
    await client.query(
      "select set_config('role', 'authenticated', true), set_config('jwt.claims.sub', $1, true), set_config('jwt.claims.sid', $2, true)",
      [user.id, user.sessionId],
    );
    if (process.env.DEBUG_PLANS) {
      const plain = await client.query(`explain ${text}`, values);
      console.log(plain.rows.map((r) => r["QUERY PLAN"]).join("\n"));
    }
    const nested = options.nested ? (await plansDuring(client, () => client.query(text, values))).flatMap((p) => p.nodes) : [];
    const { rows } = await client.query(`explain (format json) ${text}`, values);
    return [...walk((rows[0]["QUERY PLAN"] as Array<{ Plan: PlanNode }>)[0].Plan), ...nested];
  } finally {
    await client.query("rollback");
    client.release();
  }
}
