/** Background jobs enqueued from SQL exist exactly when their transaction commits. */
import type { Task } from "graphile-worker";
import { runQueuedJobs } from "../helpers/jobs";
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import pg from "pg";
import { testDatabase } from "../helpers/testDatabase";

afterAll(closeSqlHelpers);

describe("jobs enqueued by SQL", () => {
  it("run after commit with their payload, and never after rollback", async () => {
    const seen: unknown[] = [];
    const probe: Task = async (payload) => {
      seen.push(payload);
    };
    const owner = new pg.Client({ connectionString: testDatabase().ownerUrl });
    await owner.connect();
    try {
      await owner.query("begin");
      await owner.query(`select app_private.add_job('probe', '{"n": 1}')`);
      await owner.query("rollback");
      await owner.query("begin");
      await owner.query(`select app_private.add_job('probe', '{"n": 2}')`);
      await owner.query("commit");
    } finally {
      await owner.end();
    }
    await runQueuedJobs({ probe });
    expect(seen).toEqual([{ n: 2 }]);
    const left = await rootDb().query("select count(*)::int as n from graphile_worker.jobs where task_identifier = 'probe'");
    expect(left.rows[0].n).toBe(0);
  });
});
