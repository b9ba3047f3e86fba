/**
 * Creates the login roles and the application database when they are
 * missing, using a superuser connection. Runs before migrations (graphile-migrate
 * needs the owner role to exist). Safe to run on every start.
 *
 * Roles (see CONVENTIONS.md):
 * - owner: owns every object, runs migrations and the worker;
 * - authenticator: NOINHERIT login the API uses, switching per request to
 * - anonymous / authenticated: what a request may do;
 * - analyst: reads app_analytics only (DBAs add analyst logins to it).
 */
import pg from "pg";

export interface RoleSpec {
  name: string;
  password: string | null;
}

export interface BootstrapPlan {
  rootUrl: string;
  database: string;
  owner: RoleSpec;
  authenticator: RoleSpec;
}

/** Arbitrary constant: the advisory lock that serialises bootstraps (held until the session ends). */
const BOOTSTRAP_LOCK = 7_305_002;


const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;

async function ensureRole(client: pg.Client, name: string, attributes: string, password: string | null) {
  const { rowCount } = await client.query("select 1 from pg_roles where rolname = $1", [name]);
  const pw = password === null ? "" : ` password ${literal(password)}`;
  const verb = rowCount ? "alter" : "create";
  await client.query(`${verb} role ${ident(name)} with ${attributes}${pw}`);
}

/** Returns true when the database had to be created (it is then empty). */
export async function ensureRolesAndDatabase(plan: BootstrapPlan): Promise<boolean> {
  const client = new pg.Client({ connectionString: plan.rootUrl });
  await client.connect();
  try {
    // Several processes starting at once (API instances, worker, tests) would
    // otherwise collide on ALTER ROLE ("tuple concurrently updated").
    await client.query("select pg_advisory_lock($1)", [BOOTSTRAP_LOCK]);
    await ensureRole(client, plan.owner.name, "login nosuperuser nocreaterole", plan.owner.password);
    await ensureRole(client, plan.authenticator.name, "login noinherit nosuperuser nocreatedb nocreaterole", plan.authenticator.password);
    await ensureRole(client, "anonymous", "nologin", null);
    await ensureRole(client, "authenticated", "nologin", null);
    await ensureRole(client, "analyst", "nologin", null);
    await client.query(`grant anonymous, authenticated to ${ident(plan.authenticator.name)}`);
    await client.query(`grant anonymous to authenticated`);
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [plan.database]);
    return !rowCount;
  } finally {
    await client.end();
  }
}
