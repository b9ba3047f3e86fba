/**
 * Every graphile-worker task, one file each in this directory, named as the
 * task. SQL enqueues them with app_private.add_job('<name>', payload).
 * The schedule lives in ./crontab.
 */
import type { TaskList } from "graphile-worker";
import type { Mailer } from "../mail/mailer";
import { awardBadges } from "./award_badges";
import { refreshRankings } from "./refresh_rankings";
import { refreshSearchTiers } from "./refresh_search_tiers";
import { sendEmail } from "./send_email";
import { pruneRateLimits } from "./prune_rate_limits";
import { sendNotificationEmail } from "./send_notification_email";
import { sendNotificationDigest } from "./send_notification_digest";
import { sendNotificationDigests } from "./send_notification_digests";
import { pruneNotifications } from "./prune_notifications";
import { fanOutNotifications } from "./fan_out_notifications";

import { fetchLinkPreviewTask } from "./fetch_link_preview";

import { deleteFileBytes } from "./delete_file_bytes";
import { makeThumbnails } from "./make_thumbnails";
import { sweepOrphanFiles } from "./sweep_orphan_files";
import { expirePendingUploads } from "./expire_pending_uploads";
import type { FileStorage } from "../files/storage";

export interface TaskDeps {
  mailer: Mailer;
  publicUrl: string;
  /** Where file bytes live; without it (e.g. the worker benchmark) there are no file tasks (delete_file_bytes, make_thumbnails, sweep_orphan_files). */
  fileStorage?: FileStorage;
  /** Where make_thumbnails works (default: the OS's temporary directory). */
  filesTmpDir?: string;
}

export function makeTaskList(deps: TaskDeps): TaskList {
  return {
    send_email: sendEmail(deps),
    prune_rate_limits: pruneRateLimits,
    award_badges: awardBadges,
    refresh_rankings: refreshRankings,
    refresh_search_tiers: refreshSearchTiers,

    send_notification_email: sendNotificationEmail(deps),
    send_notification_digest: sendNotificationDigest(deps),
    send_notification_digests: sendNotificationDigests,
    prune_notifications: pruneNotifications,
    fan_out_notifications: fanOutNotifications,

    expire_pending_uploads: expirePendingUploads,

    fetch_link_preview: fetchLinkPreviewTask,

    ...(deps.fileStorage
      ? {
          delete_file_bytes: deleteFileBytes({ fileStorage: deps.fileStorage }),
          make_thumbnails: makeThumbnails({ fileStorage: deps.fileStorage, tmpDir: deps.filesTmpDir }),
          sweep_orphan_files: sweepOrphanFiles({ fileStorage: deps.fileStorage }),
        }
      : {}),
  };
}
