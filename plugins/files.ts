/**
 * `File.uploadUrl` and `File.downloadUrl`: signed URLs handed out only for
 * rows that row-level security let the viewer read (pending files are
 * visible to their owner only, so only the owner gets an upload URL; CVs and
 * letters also to the job's employer; document versions to the document's
 * readers).
 */
import { context, lambda, type ExecutableStep } from "postgraphile/grafast";
import { extendSchema, gql } from "postgraphile/utils";
import type { FileUrls } from "./services";

type Row = ExecutableStep & { get(attr: string): ExecutableStep };

export function makeFilesPlugin(urls: FileUrls) {
  return extendSchema(() => ({
    typeDefs: gql`
      extend type File {
        "Pending uploads only (you are the owner): the short-lived signed URL to PUT the bytes to (docs/files.md)."
        uploadUrl: String
        "Ready files only: where to GET the bytes; for private files a short-lived signed URL."
        downloadUrl: String
      }
    `,
    objects: {
      File: {
        plans: {
          uploadUrl($file: Row) {
            return lambda(
              [$file.get("id"), $file.get("owner_id"), $file.get("status")],
              ([id, ownerId, status]) => (status === "pending" ? urls.uploadUrl(id as string, ownerId as string) : null),
              true,
            );
          },
          downloadUrl($file: Row) {
            // Document versions: the viewer is signed into the URL, so the download endpoint counts the
            // download for that member (once per day, app_private.record_document_download).
            const $settings = context().get("pgSettings") as unknown as ExecutableStep;
            return lambda(
              [$file.get("id"), $file.get("is_public"), $file.get("status"), $file.get("purpose"), $settings],
              ([id, isPublic, status, purpose, settings]) => {
                if (status !== "ready") return null;
                const viewer = purpose === "document" ? (settings as Record<string, string> | null)?.["jwt.claims.sub"] || null : null;
                return urls.downloadUrl(id as string, isPublic as boolean, viewer);
              },
              true,
            );
          },
        },
      },
    },
  }));
}
