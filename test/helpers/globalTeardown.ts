/** Stops the test cluster and removes its directory. */
import fs from "node:fs";

export default async function globalTeardown(): Promise<void> {
  const state = globalThis.__AGORA_TEST_CLUSTER__;
  if (!state) return;
  await state.cluster?.stop();
  fs.rmSync(state.tmpDir, { recursive: true, force: true });
}
