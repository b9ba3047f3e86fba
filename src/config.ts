/**
 * Configuration: read once from the environment, validated, typed.
 *
 * A bad value throws a ConfigError naming the variable and what is wrong;
 * the entry points print it and exit 1. Every variable is listed in
 * `.env.example` and in the README's configuration table (README.md § Configuration).
 */
import fs from "node:fs";
import path from "node:path";

export class ConfigError extends Error {
  constructor(
    public readonly variable: string,
    problem: string,
  ) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = "ConfigError";
  }
}

export type NodeEnv = "development" | "production" | "test";

export interface DatabaseConfig {
  /** Owner connection (migrations, worker). Unset: embedded PostgreSQL. */
  ownerUrl: string | null;
  /** Authenticator connection used by the API. */
  authUrl: string | null;
  /** Superuser connection: creates roles and the database, shadow database. */
  rootUrl: string | null;
  shadowUrl: string | null;
  poolMax: number;
}

export interface EmbeddedConfig {
  port: number;
  /** Directory holding the cluster and generated development secrets. */
  dataDir: string;
}

export type JwtAlgorithm = "HS256" | "RS256" | "ES256";

export interface JwtConfig {
  algorithm: JwtAlgorithm;
  /** HS256 secret; null means "generate one in the data directory" (development only). */
  secret: string | null;
  /** RS256/ES256: PEM files and the key id published in the JWKS document. */
  privateKeyFile: string | null;
  publicKeyFile: string | null;
  keyId: string | null;
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
}

/** Uploaded files (docs/files.md). */
export interface FilesConfig {
  storage: "local" | "s3";
  /** Local back-end: where the bytes live (FILES_DIR, default DATA_DIR/files). */
  dir: string;
  /** Where uploads are written while they are checked (FILES_TMP_DIR, default DATA_DIR/uploads-tmp); never served. */
  tmpDir: string;
  s3: {
    bucket: string;
    region: string;
    endpoint: string | null;
    forcePathStyle: boolean;
    accessKeyId: string | null;
    secretAccessKey: string | null;
  };
  /** HMAC key of signed upload and download URLs (FILES_URL_SECRET; otherwise derived from JWT_SECRET or, in development, the secret in DATA_DIR). */
  urlSecret: string | null;
  uploadUrlTtlSeconds: number;
  downloadUrlTtlSeconds: number;
  /** Cache-Control max-age of public files. */
  publicMaxAgeSeconds: number;
}

export interface Config {
  env: NodeEnv;
  isProduction: boolean;
  host: string;
  port: number;
  publicUrl: string;
  logLevel: string;
  /** express "trust proxy": false, true, or the number of proxy hops in front of us. */
  trustProxy: boolean | number;
  bodyLimit: string;
  rateLimit: { windowMs: number; max: number };
  shutdownTimeoutMs: number;
  /** How many node processes serve the API (node:cluster; src/cluster.ts). */
  apiProcesses: number;
  ruru: boolean;
  db: DatabaseConfig;
  embedded: EmbeddedConfig;
  jwt: JwtConfig;
  worker: { enabled: boolean; concurrency: number };
  mail: MailConfig;
  metrics: MetricsConfig;
  limits: LimitsConfig;
  files: FilesConfig;
  /** How many distinct GraphQL documents and operation plans the server keeps (plugins/cache-limits.ts). */
  graphqlCaches: { documents: number; operationPlans: number; plansPerOperation: number };
  /** Live delivery over WebSockets (docs/realtime.md). */
  realtime: RealtimeConfig;

  /** null: tracing is off (no OpenTelemetry module is loaded). */
  tracing: TracingConfig | null;
}

export interface RealtimeConfig {
  /** Server ping interval; a socket that has not answered the previous ping is dropped. */
  keepaliveMs: number;
  /** How often this instance renews its connections' heartbeats (and sweeps those of dead instances). */
  heartbeatMs: number;
  /** A socket whose unsent data passes this many bytes is a slow consumer: closed with 4104. */
  maxSendBufferBytes: number;
  /** A subscription this many events behind (not yet taken by the socket) is a slow consumer too: 4104. */
  maxQueuedEvents: number;
  /** Connections of the owner pool that runs the per-event queries. */
  poolMax: number;
}

export interface MetricsConfig {
  /** Bearer token required by GET /metrics (on either listener); null: none. */
  token: string | null;
  /** A separate listener serving only /metrics; null: none. */
  port: number | null;
  host: string;
  /** /metrics is served on the API's own port only with a token. */
  onApiPort: boolean;
}

export interface TracingConfig {
  /** OTLP/HTTP (JSON) traces URL, e.g. http://collector:4318/v1/traces. */
  endpoint: string;
  serviceName: string;
}

/** Bounds on the work of one request (docs/limits.md). */
export interface LimitsConfig {
  graphql: {
    maxQueryLength: number;
    maxTokens: number;
    maxDepth: number;
    maxAliases: number;
    maxRootFields: number;
    maxDirectives: number;
    maxCost: number;
    introspection: boolean;
  };
  /** A GraphQL response body larger than this is replaced by an RSIZE error. */
  maxResponseBytes: number;
  /** The edge's deadline for a GraphQL request: TIMEO past it. */
  requestTimeoutMs: number;
  /** Time allowed to receive a request's headers and body (slow clients get 408). */
  receiveTimeoutMs: number;
  /** statement_timeout of the API's connections (anonymous/authenticated). */
  statementTimeoutMs: number;
  /** statement_timeout of the owner's connections (auth service, jobs). */
  ownerStatementTimeoutMs: number;
  idleInTransactionTimeoutMs: number;
  /** Largest WebSocket message accepted (closed with 1009 above). */
  wsMaxMessageBytes: number;
  /** "any": every valid document; "allow-list": only documents in the manifest. */
  operations: "any" | "allow-list";
  operationsManifest: string;
}

export interface MailConfig {
  /** SMTP server (smtp:// or smtps://); null: write .eml files to outboxDir (development). */
  smtpUrl: string | null;
  from: string;
  outboxDir: string;
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value === "" ? fallback : value;
}

/** An optional URL whose scheme matches `scheme`; `kinds` names the allowed schemes in the error. */
function optionalUrl(env: Env, name: string, scheme: RegExp, kinds: string): string | null {
  const value = env[name];
  if (value === undefined || value === "") return null;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(name, "is not a valid URL");
  }
  if (!scheme.test(parsed.protocol)) throw new ConfigError(name, `must be ${kinds} URL`);
  return value;
}

const POSTGRES = [/^postgres(ql)?:$/, "a postgres://"] as const;
const SMTP = [/^smtps?:$/, "an smtp:// or smtps://"] as const;
const HTTP = [/^https?:$/, "an http:// or https://"] as const;

export const MIN_METRICS_TOKEN_LENGTH = 32;

function metricsConfig(env: Env, apiPort: number): MetricsConfig {
  const token = env.METRICS_TOKEN && env.METRICS_TOKEN !== "" ? env.METRICS_TOKEN : null;
  if (token !== null && token.length < MIN_METRICS_TOKEN_LENGTH) {
    throw new ConfigError("METRICS_TOKEN", `must be at least ${MIN_METRICS_TOKEN_LENGTH} characters`);
  }
  const port = env.METRICS_PORT === undefined || env.METRICS_PORT === "" ? null : int(env, "METRICS_PORT", 0, 0, 65535);
  if (port !== null && port !== 0 && port === apiPort) {
    throw new ConfigError("METRICS_PORT", `must differ from PORT (${apiPort}); to serve /metrics on the API port, set METRICS_TOKEN instead`);
  }
  return { token, port, host: str(env, "METRICS_HOST", "127.0.0.1"), onApiPort: token !== null };
}

/** Tracing is on when an OTLP endpoint is set (the standard OpenTelemetry variables). */
function tracingConfig(env: Env): TracingConfig | null {
  if (bool(env, "OTEL_SDK_DISABLED", false)) return null;
  const traces = optionalUrl(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ...HTTP);
  const base = optionalUrl(env, "OTEL_EXPORTER_OTLP_ENDPOINT", ...HTTP);
  const endpoint = traces ?? (base ? `${base.replace(/\/$/, "")}/v1/traces` : null);
  return endpoint ? { endpoint, serviceName: str(env, "OTEL_SERVICE_NAME", "agora") } : null;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) {
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const v = raw.trim().toLowerCase();
  if (["1", "true", "on", "yes"].includes(v)) return true;
  if (["0", "false", "off", "no"].includes(v)) return false;
  throw new ConfigError(name, `must be on/off (or true/false), got "${raw}"`);
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = str(env, name, fallback);
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(", ")}, got "${raw}"`);
  }
  return raw as T;
}

export const MIN_JWT_SECRET_LENGTH = 32;

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const nodeEnv = oneOf<NodeEnv>(env, "NODE_ENV", "development", ["development", "production", "test"]);
  const isProduction = nodeEnv === "production";
  const port = int(env, "PORT", 3000, 0, 65535);
  const host = str(env, "HOST", isProduction ? "0.0.0.0" : "127.0.0.1");

  const publicUrl = str(env, "PUBLIC_URL", `http://localhost:${port}`);
  try {
    new URL(publicUrl);
  } catch {
    throw new ConfigError("PUBLIC_URL", "is not a valid URL");
  }

  const ownerUrl = optionalUrl(env, "DATABASE_URL", ...POSTGRES);
  const authUrl = optionalUrl(env, "AUTH_DATABASE_URL", ...POSTGRES);
  if (ownerUrl && !authUrl) {
    throw new ConfigError("AUTH_DATABASE_URL", "is required when DATABASE_URL is set (the API logs in as the authenticator role)");
  }
  if (!ownerUrl && authUrl) {
    throw new ConfigError("DATABASE_URL", "is required when AUTH_DATABASE_URL is set");
  }

  const algorithm = oneOf<JwtAlgorithm>(env, "JWT_ALGORITHM", "HS256", ["HS256", "RS256", "ES256"]);
  const secret = env.JWT_SECRET && env.JWT_SECRET !== "" ? env.JWT_SECRET : null;
  if (secret !== null && secret.length < MIN_JWT_SECRET_LENGTH) {
    throw new ConfigError("JWT_SECRET", `must be at least ${MIN_JWT_SECRET_LENGTH} characters`);
  }
  if (algorithm === "HS256" && isProduction && secret === null) {
    throw new ConfigError("JWT_SECRET", "is required in production");
  }
  const keyFile = (name: string): string | null => {
    const value = env[name];
    if (algorithm === "HS256") return null;
    if (!value) throw new ConfigError(name, `is required when JWT_ALGORITHM is ${algorithm}`);
    const file = path.resolve(cwd, value);
    if (!fs.existsSync(file)) throw new ConfigError(name, `names a file that does not exist: ${file}`);
    return file;
  };

  const logLevel = oneOf(env, "LOG_LEVEL", nodeEnv === "test" ? "warn" : "info", [
    "fatal",
    "error",
    "warn",
    "info",
    "debug",
    "trace",
    "silent",
  ]);

  const bodyLimit = str(env, "BODY_LIMIT", "100kb");
  if (!/^\d+(b|kb|mb)$/i.test(bodyLimit)) {
    throw new ConfigError("BODY_LIMIT", `must look like 100kb or 1mb, got "${bodyLimit}"`);
  }

  const smtpUrl = optionalUrl(env, "SMTP_URL", ...SMTP);
  if (isProduction && smtpUrl === null) {
    throw new ConfigError("SMTP_URL", "is required in production (mail is only written to files in development)");
  }

  return {
    env: nodeEnv,
    isProduction,
    host,
    port,
    publicUrl: publicUrl.replace(/\/$/, ""),
    logLevel,
    trustProxy: /^\d+$/.test(env.TRUST_PROXY ?? "") ? Number(env.TRUST_PROXY) : bool(env, "TRUST_PROXY", false),
    bodyLimit,
    rateLimit: {
      windowMs: int(env, "RATE_LIMIT_WINDOW_MS", 60_000, 1_000, 86_400_000),
      max: int(env, "RATE_LIMIT_MAX", 600, 1, 1_000_000),
    },
    shutdownTimeoutMs: int(env, "SHUTDOWN_TIMEOUT_MS", 10_000, 0, 600_000),
    apiProcesses: int(env, "API_PROCESSES", 1, 1, 64),
    ruru: bool(env, "RURU", !isProduction),
    db: {
      ownerUrl,
      authUrl,
      rootUrl: optionalUrl(env, "ROOT_DATABASE_URL", ...POSTGRES),
      shadowUrl: optionalUrl(env, "SHADOW_DATABASE_URL", ...POSTGRES),
      poolMax: int(env, "DB_POOL_MAX", 10, 1, 500),
    },
    embedded: {
      port: int(env, "EMBEDDED_PG_PORT", 54320, 1, 65535),
      dataDir: path.resolve(cwd, str(env, "DATA_DIR", ".data")),
    },
    jwt: {
      algorithm,
      secret,
      privateKeyFile: keyFile("JWT_PRIVATE_KEY_FILE"),
      publicKeyFile: keyFile("JWT_PUBLIC_KEY_FILE"),
      keyId: algorithm === "HS256" ? null : str(env, "JWT_KEY_ID", "agora-1"),
      issuer: str(env, "JWT_ISSUER", "agora"),
      audience: str(env, "JWT_AUDIENCE", "agora-api"),
      accessTokenTtlSeconds: int(env, "ACCESS_TOKEN_TTL_SECONDS", 900, 30, 86_400),
    },
    mail: {
      smtpUrl,
      from: str(env, "MAIL_FROM", "Agora <no-reply@agora.local>"),
      outboxDir: path.resolve(cwd, str(env, "MAIL_OUTBOX_DIR", path.join(str(env, "DATA_DIR", ".data"), "mail"))),
    },
    limits: loadLimits(env, cwd, isProduction, bodyLimit),
    realtime: {
      keepaliveMs: int(env, "WS_KEEPALIVE_MS", 30_000, 100, 600_000),
      heartbeatMs: int(env, "REALTIME_HEARTBEAT_MS", 10_000, 100, 600_000),
      maxSendBufferBytes: int(env, "REALTIME_MAX_SEND_BUFFER_BYTES", 1024 * 1024, 1024, 1024 * 1024 * 1024),
      maxQueuedEvents: int(env, "REALTIME_MAX_QUEUED_EVENTS", 1000, 1, 1_000_000),
      poolMax: int(env, "REALTIME_POOL_MAX", 4, 1, 100),
    },
    files: filesConfig(env, cwd, isProduction, secret),
    worker: {
      enabled: bool(env, "WORKER", true),
      concurrency: int(env, "WORKER_CONCURRENCY", 4, 1, 100),
    },
    metrics: metricsConfig(env, port),
    tracing: tracingConfig(env),
    graphqlCaches: {
      documents: int(env, "GRAPHQL_DOCUMENT_CACHE_SIZE", 50, 2, 100_000),
      operationPlans: int(env, "GRAPHQL_PLAN_CACHE_SIZE", 50, 2, 100_000),
      plansPerOperation: 10,
    },
  };
}

function filesConfig(env: Env, cwd: string, isProduction: boolean, jwtSecret: string | null): FilesConfig {
  const dataDir = path.resolve(cwd, str(env, "DATA_DIR", ".data"));
  const storage = oneOf(env, "FILES_STORAGE", "local", ["local", "s3"] as const);
  const bucket = str(env, "S3_BUCKET", "");
  if (storage === "s3" && bucket === "") throw new ConfigError("S3_BUCKET", "is required when FILES_STORAGE is s3");
  const endpoint = optionalUrl(env, "S3_ENDPOINT", ...HTTP);
  const urlSecret = env.FILES_URL_SECRET && env.FILES_URL_SECRET !== "" ? env.FILES_URL_SECRET : null;
  if (urlSecret !== null && urlSecret.length < MIN_JWT_SECRET_LENGTH) {
    throw new ConfigError("FILES_URL_SECRET", `must be at least ${MIN_JWT_SECRET_LENGTH} characters`);
  }
  if (isProduction && urlSecret === null && jwtSecret === null) {
    throw new ConfigError("FILES_URL_SECRET", "is required in production when there is no JWT_SECRET to derive it from");
  }
  return {
    storage,
    dir: path.resolve(cwd, str(env, "FILES_DIR", path.join(dataDir, "files"))),
    tmpDir: path.resolve(cwd, str(env, "FILES_TMP_DIR", path.join(dataDir, "uploads-tmp"))),
    s3: {
      bucket,
      region: str(env, "S3_REGION", "us-east-1"),
      endpoint,
      forcePathStyle: bool(env, "S3_FORCE_PATH_STYLE", endpoint !== null),
      accessKeyId: env.S3_ACCESS_KEY_ID || null,
      secretAccessKey: env.S3_SECRET_ACCESS_KEY || null,
    },
    urlSecret,
    uploadUrlTtlSeconds: int(env, "FILES_UPLOAD_URL_TTL_SECONDS", 600, 10, 86_400),
    downloadUrlTtlSeconds: int(env, "FILES_DOWNLOAD_URL_TTL_SECONDS", 300, 10, 86_400),
    publicMaxAgeSeconds: int(env, "FILES_PUBLIC_MAX_AGE_SECONDS", 86_400, 0, 31_536_000),
  };
}

function bytes(limit: string): number {
  const [, n, unit] = /^(\d+)(b|kb|mb)$/i.exec(limit) ?? [];
  return Number(n) * ({ b: 1, kb: 1024, mb: 1024 * 1024 }[unit.toLowerCase() as "b" | "kb" | "mb"]);
}

/** Defaults and their reasons: docs/limits.md. */
function loadLimits(env: Env, cwd: string, isProduction: boolean, bodyLimit: string): LimitsConfig {
  const statementTimeoutMs = int(env, "DB_STATEMENT_TIMEOUT_MS", 5_000, 100, 3_600_000);
  const requestTimeoutMs = int(env, "REQUEST_TIMEOUT_MS", 15_000, 100, 3_600_000);
  if (requestTimeoutMs <= statementTimeoutMs) {
    throw new ConfigError("REQUEST_TIMEOUT_MS", `must be longer than DB_STATEMENT_TIMEOUT_MS (${statementTimeoutMs}), so a slow statement is cancelled by the database first`);
  }
  const operations = oneOf(env, "GRAPHQL_OPERATIONS", "any", ["any", "allow-list"] as const);
  const operationsManifest = path.resolve(cwd, str(env, "GRAPHQL_OPERATIONS_MANIFEST", "operations/manifest.json"));
  if (operations === "allow-list" && !fs.existsSync(operationsManifest)) {
    throw new ConfigError("GRAPHQL_OPERATIONS_MANIFEST", `names a file that does not exist: ${operationsManifest} (build it with npm run operations:manifest)`);
  }
  return {
    graphql: {
      maxQueryLength: int(env, "GRAPHQL_MAX_QUERY_LENGTH", 20_000, 100, 10_000_000),
      maxTokens: int(env, "GRAPHQL_MAX_TOKENS", 1_000, 10, 1_000_000),
      maxDepth: int(env, "GRAPHQL_MAX_DEPTH", 10, 2, 1_000),
      maxAliases: int(env, "GRAPHQL_MAX_ALIASES", 15, 0, 10_000),
      maxRootFields: int(env, "GRAPHQL_MAX_ROOT_FIELDS", 10, 1, 1_000),
      maxDirectives: int(env, "GRAPHQL_MAX_DIRECTIVES", 50, 0, 10_000),
      maxCost: int(env, "GRAPHQL_MAX_COST", 5_000, 1, 100_000_000),
      introspection: bool(env, "GRAPHQL_INTROSPECTION", !isProduction),
    },
    maxResponseBytes: int(env, "GRAPHQL_MAX_RESPONSE_BYTES", 5 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    requestTimeoutMs,
    receiveTimeoutMs: int(env, "HTTP_RECEIVE_TIMEOUT_MS", 10_000, 500, 600_000),
    statementTimeoutMs,
    ownerStatementTimeoutMs: int(env, "DB_OWNER_STATEMENT_TIMEOUT_MS", 60_000, 100, 86_400_000),
    idleInTransactionTimeoutMs: int(env, "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", 10_000, 100, 86_400_000),
    wsMaxMessageBytes: int(env, "WS_MAX_MESSAGE_BYTES", bytes(bodyLimit), 1024, 100 * 1024 * 1024),
    operations,
    operationsManifest,
  };
}

/**
 * For the entry points: reads `.env` when present (variables already set
 * win), validates, and on a bad value prints the message and exits 1.
 */
export function loadConfigOrExit(): Config {
  const dotEnv = path.resolve(process.cwd(), ".env");
  if (fs.existsSync(dotEnv)) process.loadEnvFile(dotEnv);
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
