/**
 * Task fetch_link_preview: fetches the preview of one URL named in chat
 * messages and records it (app_private.save_link_preview): ready with its
 * title, description, image and site name, or failed with the reason.
 * Payload (written by the messages trigger _600_link_previews): { url }.
 *
 * The limits and the address policy come from the settings
 * chat.link_preview_fetch and chat.link_preview_allowed_cidrs (empty: only
 * public addresses). A refusal is an outcome, not an error: the job succeeds
 * and the preview says why there is none. Sending never waits for this.
 */
import type { Task } from "graphile-worker";
import type { ClientBase } from "pg";
import { makePolicy, type AddressPolicy } from "../chat/address-policy";
import { fetchLinkPreview, type FetchOptions, type LinkPreviewLimits, type PreviewResult } from "../chat/link-preview-fetch";

interface Settings {
  limits: Partial<LinkPreviewLimits>;
  allowed: string[];
}

async function readSettings(client: Pick<ClientBase, "query">): Promise<Settings> {
  const { rows } = await client.query<Settings>(
    `select app_private.setting('chat.link_preview_fetch') as limits,
            app_private.setting('chat.link_preview_allowed_cidrs') as allowed`,
  );
  return rows[0];
}

async function saveOutcome(client: Pick<ClientBase, "query">, url: string, result: PreviewResult): Promise<void> {
  const f = result.ok ? result.fields : null;
  await client.query("select app_private.save_link_preview($1, $2, $3, $4, $5, $6, $7)", [
    url,
    result.ok ? "ready" : "failed",
    f?.title ?? null,
    f?.description ?? null,
    f?.imageUrl ?? null,
    f?.siteName ?? null,
    result.ok ? null : result.failure,
  ]);
}

/**
 * Fetches one URL and saves the outcome; `overrides` replace what the
 * settings say (tests pass a policy admitting their own loopback server).
 */
export async function refreshLinkPreview(
  client: Pick<ClientBase, "query">,
  url: string,
  overrides: FetchOptions = {},
): Promise<PreviewResult> {
  const settings = await readSettings(client);
  const policy: AddressPolicy = overrides.policy ?? makePolicy(settings.allowed ?? []);
  const result = await fetchLinkPreview(url, { ...settings.limits, ...overrides, policy });
  await saveOutcome(client, url, result);
  return result;
}

export const fetchLinkPreviewTask: Task = async (payload, helpers) => {
  const url = (payload as { url?: unknown } | null)?.url;
  if (typeof url !== "string") throw new Error("fetch_link_preview: payload has no url");
  // No database connection is held while fetching: settings first, the outcome after.
  const settings = await helpers.withPgClient((client) => readSettings(client));
  const result = await fetchLinkPreview(url, { ...settings.limits, policy: makePolicy(settings.allowed ?? []) });
  await helpers.withPgClient((client) => saveOutcome(client, url, result));
};
