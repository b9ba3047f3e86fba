/**
 * The worker setups the benchmark compares, each with its own task
 * identifier (send_email excepted: it is the real one) and the SQL that
 * enqueues its jobs.
 */
import fs from "node:fs";
import os from "node:os";
import pino from "pino";
import { Logger as WorkerLogger, run } from "graphile-worker";
import type { Config } from "../src/config";
import type { Logger } from "../src/logger";
import { makeMailer } from "../src/mail/mailer";
import { makeTaskList } from "../src/tasks";
import { startWorker } from "../src/worker/runner";
import type { Scenario } from "./worker-measure";

/** Recipients of the benchmark's mails; also how its leftover jobs are recognised. */
export const BENCH_MAIL_DOMAIN = "bench.agora.invalid";

const noop = async () => {};

/** N no-op jobs in one call of graphile_worker.add_jobs. */
const addJobsSql = (task: string) =>
  `select count(*)::int as n from graphile_worker.add_jobs(array(
     select row('${task}', json_build_object('i', i), null, null, null, null, null, null)::graphile_worker.job_spec
       from generate_series(1, $1) i))`;

/**
 * Agora's logs at the configured level, formatted as in production but
 * written to /dev/null, so their cost counts and stderr stays readable.
 */
export function discardedAgoraLogger(level: string): Logger {
  return pino({ level, base: { service: "agora" } }, pino.destination({ dest: os.devNull, sync: true }));
}

/** graphile-worker as it comes: run() with a connection string, a task list and the concurrency. */
export function bareNoop(connectionString: string, concurrency: number): Scenario {
  const task = "bench_noop_bare";
  return {
    key: "bare-noop",
    title: "bare graphile-worker, no-op task",
    task,
    enqueueAll: addJobsSql(task),
    enqueueOne: `select id from graphile_worker.add_job('${task}', json_build_object('i', $1::int))`,
    async start(recorder) {
      const runner = await run({
        connectionString,
        concurrency,
        taskList: recorder.instrument({ [task]: noop }),
        // Not defaults, but neither changes how jobs are fetched or run:
        // stdout carries the results, and signals are the benchmark's.
        logger: new WorkerLogger(() => () => undefined),
        noHandleSignals: true,
      });
      return { stop: () => runner.stop() };
    },
  };
}

/** Agora's runner (src/worker/runner.ts: its pool, logger, crontab, poll interval) with a no-op task. */
export function agoraNoop(config: Config, connectionString: string, logger: Logger): Scenario {
  const task = "bench_noop_agora";
  return {
    key: "agora-noop",
    title: "Agora worker, no-op task",
    task,
    enqueueAll: addJobsSql(task),
    enqueueOne: `select app_private.add_job('${task}', json_build_object('i', $1::int))`,
    async start(recorder) {
      const worker = await startWorker({ config, connectionString, logger, taskList: recorder.instrument({ [task]: noop }) });
      return { stop: () => worker.stop() };
    },
  };
}

/** The verify_email payload that app_private.send_email_verification() builds, for address number `i`. */
const verifyEmailPayload = (i: string) =>
  `json_build_object(
     'template', 'verify_email',
     'to', 'bench-' || ${i} || '@${BENCH_MAIL_DOMAIN}',
     'variables', json_build_object(
       'token', translate(encode(public.gen_random_bytes(24), 'base64'), '+/=', '-_'),
       'email', 'bench-' || ${i} || '@${BENCH_MAIL_DOMAIN}'))`;

/**
 * Agora's runner with its real send_email task and the file transport
 * (config.mail.smtpUrl must be null; .eml files go to config.mail.outboxDir).
 * Jobs are enqueued through app_private.add_job, as the identity functions do.
 */
export function agoraSendEmail(config: Config, connectionString: string, logger: Logger): Scenario {
  if (config.mail.smtpUrl) throw new Error("the send_email scenario needs the file transport (no SMTP URL)");
  const outbox = config.mail.outboxDir;
  return {
    key: "agora-send-email",
    title: "Agora worker, real send_email task, file transport",
    task: "send_email",
    enqueueAll: `with added as (
       select app_private.add_job('send_email', ${verifyEmailPayload("i")}) from generate_series(1, $1) i
     ) select count(*)::int as n from added`,
    enqueueOne: `select app_private.add_job('send_email', ${verifyEmailPayload("$1::int")})`,
    async start(recorder) {
      const mailer = makeMailer(config.mail, logger);
      const taskList = recorder.instrument(makeTaskList({ mailer, publicUrl: config.publicUrl }));
      const worker = await startWorker({ config, connectionString, logger, taskList });
      return {
        async stop() {
          await worker.stop();
          mailer.close();
        },
      };
    },
    verify(jobsRun) {
      const files = fs.existsSync(outbox) ? fs.readdirSync(outbox).filter((f) => f.endsWith(".eml")).length : 0;
      if (files !== jobsRun) throw new Error(`${jobsRun} send_email jobs ran but ${files} .eml files are in ${outbox}`);
      return `${files} .eml files written, one per job`;
    },
  };
}
