/**
 * The file endpoints (docs/files.md):
 *
 * - `PUT /uploads/:id?u=…&exp=…&sig=…` receives the bytes of a pending upload
 *   (reserved with createUpload). It streams them to a temporary file outside
 *   the store while counting (refused past the upload's limit), sniffs their
 *   type from the first bytes, and lets app_private.finish_upload decide;
 *   only then are the bytes moved into the store and the row committed ready.
 *   A refusal stores nothing.
 * - `GET /files/:id` (`?size=<n>`: a thumbnail) streams a ready file the caller may read: the database
 *   decides, as the caller (bearer token optional), through row-level
 *   security. With `?exp=…&sig=…` (a signed download URL from
 *   `File.downloadUrl`) the signature is the permission instead. A document
 *   version's download (`?u=<member>` signed in, or the bearer) is counted
 *   by app_private.record_document_download, once per member and day.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import express, { type Request, type Response, type Router } from "express";
import type pg from "pg";
import type { Logger } from "../logger";
import type { TokenService } from "../auth/jwt";
import { bearerAuth } from "../auth/middleware";
import { clientOf, requestSettings } from "../../plugins/preset";
import type { FileUrls } from "../../plugins/services";
import { SET_TRANSACTION_SETTINGS } from "../db/session-settings";
import { sniffContentType, SNIFF_BYTES } from "./sniff";
import type { FileStorage } from "./storage";
import type { UrlSigner } from "./signing";
import { thumbnailKey } from "./thumbnails";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** After a refusal for size, read (and drop) at most this much more before closing the connection. */
const DRAIN_BYTES = 16 * 1024 * 1024;

/** HTTP status of each refusal code. */
const STATUS: Record<string, number> = {
  FEMPT: 400,
  FSIZE: 413,
  FTYPE: 415,
  FMISM: 415,
  FDONE: 409,
  NOTFD: 404,
  SIGNA: 403,
  EXPRD: 403,
};

class Refusal extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

function refuse(res: Response, error: Refusal): void {
  res.status(STATUS[error.code] ?? 400).json({ errors: [{ message: error.message, extensions: { ...error.extra, code: error.code } }] });
}

/** An SQL error with one of our codes becomes a refusal (its JSON DETAIL becomes extensions). */
function asRefusal(error: unknown): Refusal | null {
  const e = error as { code?: unknown; message?: unknown; detail?: unknown };
  if (typeof e.code !== "string" || !(e.code in STATUS)) return null;
  let extra: Record<string, unknown> = {};
  if (typeof e.detail === "string" && e.detail.startsWith("{")) {
    try {
      extra = JSON.parse(e.detail) as Record<string, unknown>;
    } catch {
      extra = {};
    }
  }
  return new Refusal(e.code, String(e.message), extra);
}

/** `inline` or `attachment`, with an ASCII fallback name and the UTF-8 name (RFC 6266 / 5987). */
export function contentDisposition(type: "inline" | "attachment", fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${type}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

export interface FilesRouteDeps {
  authPool: pg.Pool;
  ownerPool: pg.Pool;
  storage: FileStorage;
  signer: UrlSigner;
  tokens: TokenService;
  logger: Logger;
  tmpDir: string;
  publicMaxAgeSeconds: number;
}

export function fileUrls(publicUrl: string, signer: UrlSigner, ttl: { upload: number; download: number }): FileUrls {
  return {
    uploadUrl: (fileId, ownerId) => `${publicUrl}/uploads/${fileId}?${signer.sign("put", fileId, ownerId, ttl.upload)}`,
    downloadUrl: (fileId, isPublic, viewerId = null) =>
      isPublic && !viewerId
        ? `${publicUrl}/files/${fileId}`
        : `${publicUrl}/files/${fileId}?${signer.sign("get", fileId, viewerId, ttl.download)}`,
  };
}

interface Received {
  tmpPath: string;
  size: number;
  head: Buffer;
}

/**
 * Streams the request body to a new temporary file (with backpressure),
 * counting; refuses (FSIZE) past maxBytes, removing the file and leaving the
 * rest of the body unread (for drainThen).
 */
async function receive(req: Request, tmpDir: string, maxBytes: number): Promise<Received> {
  await fsp.mkdir(tmpDir, { recursive: true, mode: 0o700 });
  const tmpPath = path.join(tmpDir, `${randomUUID()}.part`);
  const out = fs.createWriteStream(tmpPath, { flags: "wx", mode: 0o600 });
  return new Promise<Received>((resolve, reject) => {
    let size = 0;
    let headBytes = 0;
    const chunks: Buffer[] = [];
    let settled = false;
    const cleanUp = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      cleanUp();
      req.pause();
      out.destroy();
      fsp.rm(tmpPath, { force: true }).then(
        () => reject(error),
        () => reject(error),
      );
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) return fail(new Refusal("FSIZE", "The file is too large", { maxBytes }));
      if (headBytes < SNIFF_BYTES) {
        const part = chunk.subarray(0, SNIFF_BYTES - headBytes);
        chunks.push(Buffer.from(part));
        headBytes += part.length;
      }
      if (!out.write(chunk)) {
        req.pause();
        out.once("drain", () => {
          if (!settled) req.resume();
        });
      }
    };
    const onEnd = () => {
      cleanUp();
      out.end();
    };
    const onError = (error: Error) => fail(error);
    const onClose = () => {
      if (!req.complete) fail(new Error("upload aborted by the client"));
    };
    out.once("error", (error) => fail(error));
    out.once("finish", () => {
      if (settled) return;
      settled = true;
      resolve({ tmpPath, size, head: Buffer.concat(chunks) });
    });
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onError);
    req.once("close", onClose);
  });
}

/** Reads and drops the rest of a refused body (up to DRAIN_BYTES), so the client can read the answer; then closes. */
function drainThen(req: Request, res: Response, send: () => void): void {
  if (req.readableEnded || req.complete) return send();
  let dropped = 0;
  res.set("Connection", "close");
  const onData = (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > DRAIN_BYTES) {
      req.off("data", onData);
      send();
      res.once("finish", () => req.socket.destroy());
    }
  };
  req.on("data", onData);
  req.once("end", () => {
    if (dropped <= DRAIN_BYTES) send();
  });
  req.once("error", () => req.socket.destroy());
  req.resume();
}

export function filesRouter(deps: FilesRouteDeps): Router {
  const router = express.Router();

  router.put("/uploads/:id", async (req, res, next) => {
    const id = String(req.params.id);
    const { u, exp, sig } = req.query;
    const fail = (error: Refusal) => drainThen(req, res, () => refuse(res, error));
    try {
      if (!UUID.test(id) || typeof u !== "string" || !UUID.test(u)) {
        return fail(new Refusal("SIGNA", "The upload URL is not valid (sign a new one with createUpload)"));
      }
      const verdict = deps.signer.verify("put", id, u, exp, sig);
      if (verdict === "invalid") return fail(new Refusal("SIGNA", "The upload URL is not valid (sign a new one with createUpload)"));
      if (verdict === "expired") return fail(new Refusal("EXPRD", "The upload URL has expired (select uploadUrl again)"));
      const { rows } = await deps.ownerPool.query<{ status: string; declared_size: string; max_bytes: string; storage_key: string }>(
        "select status, declared_size, max_bytes, storage_key from app_private.upload_target($1, $2)",
        [id, u],
      );
      const target = rows[0];
      if (!target) return fail(new Refusal("NOTFD", "No such upload"));
      if (target.status !== "pending") return fail(new Refusal("FDONE", "This upload is already complete"));
      const limit = Math.min(Number(target.declared_size), Number(target.max_bytes));
      const announced = Number(req.headers["content-length"] ?? NaN);
      if (announced > limit) return fail(new Refusal("FSIZE", "The file is too large", { maxBytes: limit }));

      let received: Received;
      try {
        received = await receive(req, deps.tmpDir, limit);
      } catch (error) {
        if (error instanceof Refusal) return fail(error);
        throw error;
      }
      const contentType = sniffContentType(received.head);
      const client = await deps.ownerPool.connect();
      let outcome: { ok: { id: string; content_type: string; byte_size: string } } | { refusal: Refusal };
      try {
        await client.query("begin");
        const { rows: done } = await client.query<{ id: string; content_type: string; byte_size: string }>(
          "select id, content_type, byte_size from app_private.finish_upload($1, $2, $3, $4)",
          [id, u, contentType, received.size],
        );
        // The bytes go into the store before the row commits ready; if the commit fails, they are removed.
        await deps.storage.put(target.storage_key, received.tmpPath, { contentType: contentType!, size: received.size });
        try {
          await client.query("commit");
        } catch (error) {
          await deps.storage.delete(target.storage_key).catch(() => undefined);
          throw error;
        }
        outcome = { ok: done[0] };
      } catch (error) {
        await client.query("rollback").catch(() => undefined);
        const refusal = asRefusal(error);
        if (!refusal) throw error;
        outcome = { refusal };
      } finally {
        client.release();
        // Before answering: whatever happened, the temporary file is gone when the client hears back.
        await fsp.rm(received.tmpPath, { force: true });
      }
      if ("refusal" in outcome) return refuse(res, outcome.refusal);
      const done = outcome.ok;
      res.status(200).json({ data: { id: done.id, status: "ready", contentType: done.content_type, byteSize: Number(done.byte_size) } });
    } catch (error) {
      next(error);
    }
  });

  router.get("/files/:id", bearerAuth(deps.tokens), async (req, res, next) => {
    const id = String(req.params.id);
    const { exp, sig, u } = req.query;
    try {
      if (!UUID.test(id)) return refuse(res, new Refusal("NOTFD", "No such file"));
      type Meta = { storage_key: string; content_type: string; file_name: string; is_public: boolean; thumbnail_sizes: number[]; purpose: string };
      const columns = "storage_key, content_type, file_name, is_public, thumbnail_sizes, purpose";
      let meta: Meta | undefined;
      let signed = false;
      // Who downloads, for the document download count: the member signed into the URL, or the bearer.
      let downloader: string | null = req.auth?.sub ?? null;
      if (exp !== undefined || sig !== undefined || u !== undefined) {
        if (u !== undefined && (typeof u !== "string" || !UUID.test(u))) return refuse(res, new Refusal("SIGNA", "The download URL is not valid"));
        const verdict = deps.signer.verify("get", id, u ?? null, exp, sig);
        if (verdict === "invalid") return refuse(res, new Refusal("SIGNA", "The download URL is not valid"));
        if (verdict === "expired") return refuse(res, new Refusal("EXPRD", "The download URL has expired (select downloadUrl again)"));
        signed = true;
        downloader = u ?? null;
        ({ rows: [meta] } = await deps.ownerPool.query<Meta>(`select ${columns} from app_public.files where id = $1 and status = 'ready'`, [id]));
      } else {
        // As the caller: row-level security decides.
        const client = await deps.authPool.connect();
        try {
          await client.query("begin");
          await client.query(SET_TRANSACTION_SETTINGS, [JSON.stringify(Object.entries(requestSettings(req.auth, clientOf(req))))]);
          ({ rows: [meta] } = await client.query<Meta>(`select ${columns} from app_public.files where id = $1 and status = 'ready'`, [id]));
          await client.query("commit");
        } catch (error) {
          await client.query("rollback").catch(() => undefined);
          throw error;
        } finally {
          client.release();
        }
      }
      if (!meta) return refuse(res, new Refusal("NOTFD", "No such file"));
      // ?size=<n>: one of the webp thumbnails made so far (same permission as the original).
      const size = req.query.size;
      if (size !== undefined) {
        if (typeof size !== "string" || !meta.thumbnail_sizes.includes(Number(size))) {
          return refuse(res, new Refusal("NOTFD", "No thumbnail of that size (yet)", { sizes: meta.thumbnail_sizes }));
        }
        meta = {
          ...meta,
          storage_key: thumbnailKey(id, Number(size)),
          content_type: "image/webp",
          file_name: `${meta.file_name.replace(/\.[A-Za-z0-9]+$/, "")}-${Number(size)}.webp`,
        };
      }
      const object = await deps.storage.get(meta.storage_key);
      if (!object) {
        deps.logger.error({ fileId: id }, "file bytes missing from the store");
        return refuse(res, new Refusal("NOTFD", "No such file"));
      }
      if (meta.purpose === "document" && size === undefined && downloader) {
        // A document version: one download per member and day (the database decides whether it counts).
        await deps.ownerPool.query("select app_private.record_document_download($1, $2)", [id, downloader]);
      }
      const isImage = meta.content_type.startsWith("image/");
      res.status(200).set({
        "Content-Type": meta.content_type,
        "Content-Length": String(object.size),
        "Content-Disposition": contentDisposition(isImage ? "inline" : "attachment", meta.file_name),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": meta.is_public && !signed ? `public, max-age=${deps.publicMaxAgeSeconds}, immutable` : "private, no-store",
        // Public images may be embedded by other origins (helmet's default is same-origin).
        "Cross-Origin-Resource-Policy": meta.is_public ? "cross-origin" : "same-origin",
      });
      await pipeline(object.body, res);
    } catch (error) {
      if (res.headersSent) {
        deps.logger.error({ err: error, fileId: id }, "file download failed midway");
        res.destroy();
        return;
      }
      next(error);
    }
  });

  return router;
}
