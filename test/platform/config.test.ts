/** Configuration is validated once, at start; a bad value stops start-up naming the variable. */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { ConfigError, loadConfig } from "../../src/config";
import { PROJECT_ROOT } from "../../src/paths";

describe("configuration", () => {
  it("has working defaults for development", () => {
    const config = loadConfig({}, "/srv/agora");
    expect(config).toMatchObject({
      env: "development",
      port: 3000,
      host: "127.0.0.1",
      ruru: true,
      db: { ownerUrl: null, authUrl: null, poolMax: 10 },
      embedded: { port: 54320, dataDir: "/srv/agora/.data" },
      worker: { enabled: true },
      graphqlCaches: { documents: 50, operationPlans: 50 },
    });
  });

  it.each([
    [{ PORT: "abc" }, "PORT", "must be a whole number"],
    [{ PORT: "70000" }, "PORT", "between 0 and 65535"],
    [{ WORKER: "maybe" }, "WORKER", "on/off"],
    [{ NODE_ENV: "staging" }, "NODE_ENV", "one of development, production, test"],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL", "postgres://"],
    [{ DATABASE_URL: "postgres://o@h/db" }, "AUTH_DATABASE_URL", "is required when DATABASE_URL is set"],
    [{ JWT_SECRET: "short" }, "JWT_SECRET", "at least 32 characters"],
    [{ NODE_ENV: "production" }, "JWT_SECRET", "is required in production"],
    [{ BODY_LIMIT: "lots" }, "BODY_LIMIT", "100kb"],
    [{ DB_POOL_MAX: "0" }, "DB_POOL_MAX", "between 1 and 500"],
    [{ GRAPHQL_PLAN_CACHE_SIZE: "1" }, "GRAPHQL_PLAN_CACHE_SIZE", "between 2 and 100000"],
    [{ GRAPHQL_DOCUMENT_CACHE_SIZE: "many" }, "GRAPHQL_DOCUMENT_CACHE_SIZE", "must be a whole number"],
    [{ SMTP_URL: "http://mail.example.com" }, "SMTP_URL", "smtp:// or smtps://"],
    [{ NODE_ENV: "production", JWT_SECRET: "x".repeat(40) }, "SMTP_URL", "is required in production"],
    [{ JWT_ALGORITHM: "RS256" }, "JWT_PRIVATE_KEY_FILE", "is required when JWT_ALGORITHM is RS256"],
    [{ FILES_STORAGE: "ftp" }, "FILES_STORAGE", "one of local, s3"],
    [{ FILES_STORAGE: "s3" }, "S3_BUCKET", "is required when FILES_STORAGE is s3"],
    [{ S3_ENDPOINT: "ftp://minio" }, "S3_ENDPOINT", "http:// or https://"],
    [{ FILES_URL_SECRET: "short" }, "FILES_URL_SECRET", "at least 32 characters"],
    [{ FILES_UPLOAD_URL_TTL_SECONDS: "1" }, "FILES_UPLOAD_URL_TTL_SECONDS", "between 10 and 86400"],
  ])("refuses %j naming %s", (env, variable, problem) => {
    let error: unknown;
    try {
      loadConfig(env as Record<string, string>);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toContain(problem);
  });

  it("stops the real start-up with exit code 1 and the message, before touching any database", () => {
    const result = spawnSync(process.execPath, [path.join(PROJECT_ROOT, "dist", "src", "main.js")], {
      env: { ...process.env, PORT: "not-a-port" },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Invalid configuration: PORT must be a whole number, got "not-a-port"');
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
