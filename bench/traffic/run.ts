/**
 * Sends generated operations to a running Agora at a fixed concurrency and
 * samples the server process's resident memory (VmRSS) while it does.
 */
import fs from "node:fs";
import { buildClientSchema, getIntrospectionQuery, getNamedType, isObjectType, type GraphQLSchema, type IntrospectionQuery } from "graphql";
import { OperationGenerator, ValuePool, makeRng } from "./generate";

export interface TrafficOptions {
  /** GraphQL endpoint, e.g. http://127.0.0.1:3000/graphql */
  url: string;
  ops: number;
  concurrency: number;
  seed: number;
  /** Process whose RSS is sampled; null: none. */
  pid: number | null;
  /** `username:password` of the member that signed-in operations act as; null: all anonymous. */
  login: string | null;
  /** Share of operations sent signed in (when `login` is set), 0–1. */
  signedInShare: number;
  mutationShare: number;
  sampleEveryMs: number;
  /** RSS is also recorded each time this many operations have completed. */
  checkpointEvery: number;
  /** Seconds to keep sampling after the last operation. */
  idleSeconds: number;
  onCheckpoint?: (checkpoint: Checkpoint) => void;
}

export interface Checkpoint {
  ops: number;
  seconds: number;
  rssMb: number | null;
}

export interface TrafficResult {
  ops: number;
  seconds: number;
  /** HTTP status → count. */
  statuses: Record<string, number>;
  /** Answers with data and no errors. */
  ok: number;
  /** `extensions.code` (or "none") of the first error → count. */
  errorCodes: Record<string, number>;
  /** Requests that got no HTTP answer at all (connection refused or reset). */
  failedRequests: number;
  /** Generated drafts that failed validation and were replaced (never sent). */
  discardedDocuments: number;
  distinctDocuments: number;
  rss: {
    startMb: number | null;
    peakMb: number | null;
    endMb: number | null;
    afterIdleMb: number | null;
    checkpoints: Checkpoint[];
  };
}

const DEFAULTS = {
  concurrency: 2,
  seed: 1,
  pid: null,
  login: null,
  signedInShare: 0.5,
  mutationShare: 0.1,
  sampleEveryMs: 250,
  checkpointEvery: 1000,
  idleSeconds: 15,
} satisfies Partial<TrafficOptions>;

export function withDefaults(options: Partial<TrafficOptions> & Pick<TrafficOptions, "url" | "ops">): TrafficOptions {
  return { ...DEFAULTS, ...options };
}

/** VmRSS of a process in MB, or null when it cannot be read (process gone, not Linux). */
export function rssMb(pid: number): number | null {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Math.round(Number(match[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/** The pid of the process listening on a local TCP port (Linux /proc), or null. */
export function pidListeningOn(port: number): number | null {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = fs.readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is HEX_IP:HEX_PORT; state 0A is LISTEN; inode is column 10.
      if (cols.length > 9 && cols[3] === "0A" && parseInt(cols[1].split(":")[1], 16) === port) inodes.add(cols[9]);
    }
  }
  if (inodes.size === 0) return null;
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const target = fs.readlinkSync(`/proc/${entry}/fd/${fd}`);
        const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
        if (inode && inodes.has(inode)) return Number(entry);
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return null;
}

interface Answer {
  status: number;
  body: { data?: unknown; errors?: Array<{ extensions?: { code?: string } }> } | null;
}

async function post(url: string, payload: unknown, token: string | null, ip: string): Promise<Answer> {
  const headers: Record<string, string> = { "content-type": "application/json", "x-forwarded-for": ip };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url, { method: "POST", headers, body: JSON.stringify(payload) });
  const text = await res.text();
  let body: Answer["body"] = null;
  try {
    body = JSON.parse(text) as Answer["body"];
  } catch {
    // not JSON (e.g. a 429 or 413 page)
  }
  return { status: res.status, body };
}

export async function fetchSchema(url: string): Promise<GraphQLSchema> {
  const answer = await post(url, { query: getIntrospectionQuery() }, null, SESSION_IP);
  if (answer.status !== 200 || !answer.body?.data) throw new Error(`introspection failed: HTTP ${answer.status}`);
  return buildClientSchema(answer.body.data as IntrospectionQuery);
}

/** The address the traffic's own sign-in comes from (with TRUST_PROXY on, the random operations' logins do not count against it). */
const SESSION_IP = "10.255.255.254";

/** Signs in once and refreshes the access token a minute before it expires. */
class Session {
  private accessToken: string | null = null;
  private refreshToken: string | null = null;
  private expiresAt = 0;
  private pending: Promise<string | null> | null = null;

  constructor(
    private readonly url: string,
    private readonly credentials: string,
  ) {}

  token(): Promise<string | null> {
    if (this.accessToken && Date.now() < this.expiresAt - 60_000) return Promise.resolve(this.accessToken);
    this.pending ??= this.renew().finally(() => (this.pending = null));
    return this.pending;
  }

  private async renew(): Promise<string | null> {
    const fields = "accessToken accessTokenExpiresAt refreshToken";
    let answer: Answer;
    if (this.refreshToken) {
      answer = await post(this.url, {
        query: `mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { ${fields} } }`,
        variables: { t: this.refreshToken },
      }, null, SESSION_IP);
    } else {
      const [identifier, ...rest] = this.credentials.split(":");
      answer = await post(this.url, {
        query: `mutation($i: LoginInput!) { login(input: $i) { ${fields} } }`,
        variables: { i: { identifier, password: rest.join(":") } },
      }, null, SESSION_IP);
    }
    const data = answer.body?.data as Record<string, { accessToken: string; accessTokenExpiresAt: string; refreshToken: string } | null> | undefined;
    const payload = data ? Object.values(data)[0] : null;
    if (!payload) throw new Error(`sign-in as ${this.credentials.split(":")[0]} failed: ${JSON.stringify(answer.body?.errors ?? answer.status)}`);
    this.accessToken = payload.accessToken;
    this.refreshToken = payload.refreshToken;
    this.expiresAt = Date.parse(payload.accessTokenExpiresAt);
    return this.accessToken;
  }
}

/**
 * Fills the value pool before the run, in a fixed order: the first rows of
 * every connection on Query (their ids, row ids and cursors).
 */
async function prefill(url: string, schema: GraphQLSchema, pool: ValuePool, token: string | null): Promise<void> {
  const query = schema.getQueryType();
  for (const field of Object.values(query?.getFields() ?? {})) {
    const type = getNamedType(field.type);
    if (!isObjectType(type) || !type.name.endsWith("Connection") || field.args.some((a) => a.type.toString().endsWith("!"))) continue;
    const nodes = type.getFields().nodes;
    const nodeType = nodes ? getNamedType(nodes.type) : null;
    if (!nodeType || !isObjectType(nodeType)) continue;
    const keys = Object.values(nodeType.getFields())
      .filter((f) => f.args.length === 0 && ["UUID", "ID"].includes(getNamedType(f.type).name))
      .map((f) => f.name);
    if (keys.length === 0) continue;
    const answer = await post(url, { query: `{ ${field.name}(first: 30) { edges { cursor } nodes { ${keys.join(" ")} } } }` }, token, "127.0.0.1");
    if (answer.body?.data) pool.harvest(answer.body.data);
  }
}

export async function runTraffic(options: TrafficOptions): Promise<TrafficResult> {
  const schema = await fetchSchema(options.url);
  const session = options.login ? new Session(options.url, options.login) : null;
  const pool = new ValuePool();
  await prefill(options.url, schema, pool, session ? await session.token() : null);
  const generator = new OperationGenerator(schema, pool, { seed: options.seed, mutationShare: options.mutationShare });
  const decide = makeRng(options.seed ^ 0x5bd1e995);

  const result: TrafficResult = {
    ops: 0,
    seconds: 0,
    statuses: {},
    ok: 0,
    errorCodes: {},
    failedRequests: 0,
    discardedDocuments: 0,
    distinctDocuments: 0,
    rss: { startMb: null, peakMb: null, endMb: null, afterIdleMb: null, checkpoints: [] },
  };
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 100) / 10;
  const sample = (): number | null => {
    if (options.pid === null) return null;
    const mb = rssMb(options.pid);
    if (mb !== null && (result.rss.peakMb === null || mb > result.rss.peakMb)) result.rss.peakMb = mb;
    return mb;
  };
  const checkpoint = (ops: number) => {
    const point = { ops, seconds: seconds(), rssMb: sample() };
    result.rss.checkpoints.push(point);
    options.onCheckpoint?.(point);
  };
  result.rss.startMb = sample();
  checkpoint(0);
  const sampler = setInterval(sample, options.sampleEveryMs);
  const documents = new Set<string>();

  let issued = 0;
  const workerLoop = async () => {
    while (issued < options.ops) {
      const n = issued++;
      const op = generator.next();
      documents.add(op.query);
      const signedIn = session !== null && decide() < options.signedInShare;
      const ip = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${(n & 255) || 1}`;
      try {
        const answer = await post(options.url, { query: op.query, variables: op.variables }, signedIn ? await session.token() : null, ip);
        result.statuses[answer.status] = (result.statuses[answer.status] ?? 0) + 1;
        const errors = answer.body?.errors;
        if (errors && errors.length > 0) {
          const code = errors[0].extensions?.code ?? "none";
          result.errorCodes[code] = (result.errorCodes[code] ?? 0) + 1;
        } else if (answer.status === 200 && answer.body?.data) {
          result.ok++;
        }
      } catch {
        result.failedRequests++;
      }
      result.ops++;
      if (result.ops % options.checkpointEvery === 0) checkpoint(result.ops);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, workerLoop));
  } finally {
    clearInterval(sampler);
  }
  result.seconds = seconds();
  if (result.ops % options.checkpointEvery !== 0) checkpoint(result.ops);
  result.rss.endMb = sample();
  if (options.pid !== null && options.idleSeconds > 0) {
    const idle = setInterval(sample, options.sampleEveryMs);
    await new Promise((resolve) => setTimeout(resolve, options.idleSeconds * 1000));
    clearInterval(idle);
    result.rss.afterIdleMb = sample();
  }
  result.discardedDocuments = generator.discarded;
  result.distinctDocuments = documents.size;
  return result;
}
