/**
 * `npm run traffic -- --ops 20000 --concurrency 2`: varied, schema-driven
 * GraphQL traffic against a running Agora, with the server's RSS over time.
 * See README "Memory under varied traffic".
 */
import fs from "node:fs";
import { parseArgs } from "node:util";
import { pidListeningOn, runTraffic, withDefaults } from "./run";

const HELP = `Usage: npm run traffic -- [options]

  --url <url>            GraphQL endpoint (default http://127.0.0.1:$PORT/graphql, PORT default 3000)
  --ops <n>              operations to send (default 20000)
  --concurrency <n>      operations in flight (default 2)
  --seed <n>             generator seed (default 1): the same seed and data give the same documents
  --pid <pid>            process whose RSS is sampled (default: the one listening on the URL's port)
  --login <user:pass>    member for signed-in operations (default demo:Demo-Password-1; "none": anonymous only)
  --signed-in <0..1>     share of operations sent signed in (default 0.5)
  --mutations <0..1>     share of operations that are mutations (default 0.1)
  --checkpoint <n>       print RSS every n operations (default 1000)
  --idle <s>             keep sampling RSS this long after the last operation (default 15)
  --out <file.json>      write the full result as JSON
`;

function number(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got "${value}"`);
  return n;
}

async function main() {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      ops: { type: "string" },
      concurrency: { type: "string" },
      seed: { type: "string" },
      pid: { type: "string" },
      login: { type: "string" },
      "signed-in": { type: "string" },
      mutations: { type: "string" },
      checkpoint: { type: "string" },
      idle: { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const url = values.url ?? `http://127.0.0.1:${process.env.PORT || 3000}/graphql`;
  const port = Number(new URL(url).port || 80);
  const pid = values.pid ? number(values.pid, 0, "pid") : pidListeningOn(port);
  if (pid === null) process.stderr.write(`No process found listening on port ${port}: RSS will not be sampled.\n`);
  const login = values.login === "none" ? null : (values.login ?? "demo:Demo-Password-1");

  const options = withDefaults({
    url,
    ops: number(values.ops, 20_000, "ops"),
    concurrency: Math.max(1, number(values.concurrency, 2, "concurrency")),
    seed: number(values.seed, 1, "seed"),
    pid,
    login,
    signedInShare: number(values["signed-in"], 0.5, "signed-in"),
    mutationShare: number(values.mutations, 0.1, "mutations"),
    checkpointEvery: Math.max(1, number(values.checkpoint, 1000, "checkpoint")),
    idleSeconds: number(values.idle, 15, "idle"),
    onCheckpoint: (c) => process.stdout.write(`${String(c.ops).padStart(7)} ops ${String(c.seconds).padStart(7)} s  RSS ${c.rssMb ?? "?"} MB\n`),
  });
  process.stdout.write(`${options.ops} operations at concurrency ${options.concurrency}, seed ${options.seed}, against ${url}${pid ? ` (pid ${pid})` : ""}\n`);
  const result = await runTraffic(options);
  const { rss } = result;
  process.stdout.write(
    [
      `done: ${result.ops} operations in ${result.seconds} s, ${result.distinctDocuments} distinct documents`,
      `answers: ${result.ok} without errors; HTTP ${JSON.stringify(result.statuses)}; first error codes ${JSON.stringify(result.errorCodes)}; no answer ${result.failedRequests}`,
      `RSS: start ${rss.startMb} MB, peak ${rss.peakMb} MB, end ${rss.endMb} MB, after ${options.idleSeconds} s idle ${rss.afterIdleMb} MB`,
      "",
    ].join("\n"),
  );
  if (values.out) fs.writeFileSync(values.out, `${JSON.stringify({ options: { ...options, onCheckpoint: undefined }, result }, null, 2)}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
