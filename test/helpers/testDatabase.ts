/** Connection details of the database prepared by globalSetup. */
export interface TestDatabase {
  /** Environment for loadConfig() that points Agora at the test database. */
  env: Record<string, string>;
  ownerUrl: string;
  authUrl: string;
  /** Superuser, connected to the test database. */
  rootUrl: string;
  /** Superuser, connected to the server's maintenance database. */
  serverRootUrl: string;
  database: string;
  tmpDir: string;
  /** Where the run's SMTP server stores what it receives (see mail.ts). */
  mailDir: string;
}

export function testDatabase(): TestDatabase {
  const raw = process.env.AGORA_TEST_DB;
  if (!raw) throw new Error("AGORA_TEST_DB is not set: run the tests through jest (globalSetup prepares the database)");
  return JSON.parse(raw) as TestDatabase;
}
