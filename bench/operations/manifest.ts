/**
 * Writes the allow-list manifest, operations/manifest.json: `{ "<sha256 hex>":
 * "<document>" }` for every documented operation (bench/operations/documented.ts).
 *
 *   npm run operations:manifest            # rewrite it
 *   npm run operations:manifest -- --check # exit 1 if it is out of date
 */
import fs from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../../src/paths";
import { operationHash } from "../../plugins/persisted";
import { DOCUMENTED_OPERATIONS } from "./documented";

export const MANIFEST_FILE = path.join(PROJECT_ROOT, "operations", "manifest.json");

export function buildManifest(): string {
  const entries = DOCUMENTED_OPERATIONS.map((op) => [operationHash(op.document), op.document] as const);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${JSON.stringify(Object.fromEntries(entries), null, 2)}\n`;
}

if (require.main === module) {
  const text = buildManifest();
  if (process.argv.includes("--check")) {
    const current = fs.existsSync(MANIFEST_FILE) ? fs.readFileSync(MANIFEST_FILE, "utf8") : "";
    if (current !== text) {
      process.stderr.write(`${MANIFEST_FILE} is out of date: run npm run operations:manifest\n`);
      process.exit(1);
    }
  } else {
    fs.mkdirSync(path.dirname(MANIFEST_FILE), { recursive: true });
    fs.writeFileSync(MANIFEST_FILE, text);
    process.stdout.write(`${MANIFEST_FILE}: ${DOCUMENTED_OPERATIONS.length} operations\n`);
  }
}
