/** Stops the test cluster and removes its directory; on an external server, drops the test database. */
import fs from "node:fs";
import pg from "pg";

export default async function globalTeardown(): Promise<void> {
  const state = globalThis.__AGORA_TEST_CLUSTER__;
  if (!state) return;
  await state.smtp.close();
  if (state.cluster) {
    await state.cluster.stop();
  } else {
    const client = new pg.Client({ connectionString: state.serverRootUrl });
    await client.connect();
    try {
      await client.query(`drop database if exists "${state.database}" with (force)`);
    } finally {
      await client.end();
    }
  }
  fs.rmSync(state.tmpDir, { recursive: true, force: true });
}
