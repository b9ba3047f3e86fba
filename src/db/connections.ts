/**
 * Resolves where the database is: the embedded cluster (default) or an
 * external PostgreSQL given by DATABASE_URL / AUTH_DATABASE_URL. Then makes
 * sure roles and database exist (when a superuser URL is known) and the
 * schema is up to date.
 */
import type { Config } from "../config";
import type { Logger } from "../logger";
import { ensureRolesAndDatabase } from "./bootstrap";
import { startEmbeddedPostgres, type EmbeddedCluster } from "./embedded";
import { migrateDatabase } from "./migrate";
import { loadOrCreateDevSecrets } from "./secrets";

export interface DatabaseConnections {
  ownerUrl: string;
  authUrl: string;
  rootUrl: string | null;
  shadowUrl: string | null;
  database: string;
  ownerRole: string;
  authenticatorRole: string;
  /** Present when we started the embedded cluster; stop it on shutdown. */
  embedded: EmbeddedCluster | null;
}

const OWNER_ROLE = "agora_owner";
const AUTHENTICATOR_ROLE = "agora_authenticator";
const DATABASE = "agora";

function parts(url: string) {
  const u = new URL(url);
  return {
    user: decodeURIComponent(u.username),
    password: u.password ? decodeURIComponent(u.password) : null,
    database: decodeURIComponent(u.pathname.replace(/^\//, "")),
  };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function openDatabase(
  config: Config,
  logger: Logger,
  options: { migrate?: boolean; embeddedSettings?: Record<string, string> } = {},
): Promise<DatabaseConnections> {
  let db: DatabaseConnections;
  if (config.db.ownerUrl && config.db.authUrl) {
    const owner = parts(config.db.ownerUrl);
    db = {
      ownerUrl: config.db.ownerUrl,
      authUrl: config.db.authUrl,
      rootUrl: config.db.rootUrl,
      shadowUrl: config.db.shadowUrl,
      database: owner.database,
      ownerRole: owner.user,
      authenticatorRole: parts(config.db.authUrl).user,
      embedded: null,
    };
  } else {
    const secrets = loadOrCreateDevSecrets(config.embedded.dataDir);
    const cluster = await startEmbeddedPostgres({
      dataDir: `${config.embedded.dataDir}/pg`,
      port: config.embedded.port,
      superuserPassword: secrets.postgresPassword,
      settings: options.embeddedSettings,
      log: (line) => logger.debug({ component: "postgres" }, line),
      warn: (line) => logger.warn({ component: "postgres" }, line),
    });
    const at = (user: string, password: string, database: string) =>
      `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${cluster.port}/${database}`;
    db = {
      ownerUrl: at(OWNER_ROLE, secrets.ownerPassword, DATABASE),
      authUrl: at(AUTHENTICATOR_ROLE, secrets.authenticatorPassword, DATABASE),
      rootUrl: cluster.rootUrl("postgres"),
      shadowUrl: at(OWNER_ROLE, secrets.ownerPassword, `${DATABASE}_shadow`),
      database: DATABASE,
      ownerRole: OWNER_ROLE,
      authenticatorRole: AUTHENTICATOR_ROLE,
      embedded: cluster,
    };
  }

  try {
    let fresh = false;
    if (db.rootUrl) {
      fresh = await ensureRolesAndDatabase({
        rootUrl: withDatabase(db.rootUrl, "postgres"),
        database: db.database,
        owner: { name: db.ownerRole, password: parts(db.ownerUrl).password },
        authenticator: { name: db.authenticatorRole, password: parts(db.authUrl).password },
      });
    }
    if (options.migrate !== false) await migrateDatabase(db, fresh, logger);
  } catch (error) {
    await db.embedded?.stop();
    throw error;
  }
  return db;
}
