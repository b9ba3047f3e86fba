/** schema.graphql is what client developers generate code from: it must match the live schema. */
import fs from "node:fs";
import { printLiveSchema, SCHEMA_FILE } from "../../src/schema-export";
import { testDatabase } from "../helpers/testDatabase";

describe("the exported GraphQL schema", () => {
  it("is up to date (run `npm run schema:export` after changing the database)", async () => {
    const live = await printLiveSchema({ authUrl: testDatabase().authUrl });
    const committed = fs.existsSync(SCHEMA_FILE) ? fs.readFileSync(SCHEMA_FILE, "utf8") : "";
    expect(committed).toBe(live);
  });
});
