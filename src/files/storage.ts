/**
 * Where file bytes live: the local disk under DATA_DIR (default) or any
 * S3-compatible store (AWS S3, MinIO, R2, s3rver in tests), chosen by
 * FILES_STORAGE. Keys are `purpose/id` (never a client's file name). The
 * upload endpoint only ever `put`s a file that has passed every check, from
 * a temporary file outside the store.
 */
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";

export interface StoredObject {
  body: Readable;
  size: number;
}

export interface FileStorage {
  readonly kind: "local" | "s3";
  /** Stores the checked temporary file `sourcePath` under `key` (the source may be moved away). */
  put(key: string, sourcePath: string, meta: { contentType: string; size: number }): Promise<void>;
  /** The bytes under `key`, or null when there are none. */
  get(key: string): Promise<StoredObject | null>;
  /** Removes the bytes under `key` (no error when absent). */
  delete(key: string): Promise<void>;
  /** Every stored key with its last modification time, in pages (for the orphan sweep). */
  list(): AsyncIterable<StoredKey[]>;
}

export interface StoredKey {
  key: string;
  modifiedAt: Date;
}

/** Keys per page of list(). */
const LIST_PAGE = 500;

export interface S3StorageConfig {
  bucket: string;
  region: string;
  endpoint: string | null;
  forcePathStyle: boolean;
  accessKeyId: string | null;
  secretAccessKey: string | null;
}

/** `purpose/id` or `thumb_<size>/id`. */
const KEY = /^[a-z_0-9]+\/[0-9a-f-]{36}$/;

function checkedKey(key: string): string {
  if (!KEY.test(key)) throw new Error(`invalid storage key ${JSON.stringify(key)}`);
  return key;
}

/** Files under `root` (DATA_DIR/files by default), one directory per purpose. */
export function localStorage(root: string): FileStorage {
  const pathOf = (key: string) => path.join(root, checkedKey(key));
  return {
    kind: "local",
    async put(key, sourcePath) {
      const target = pathOf(key);
      await fsp.mkdir(path.dirname(target), { recursive: true });
      try {
        await fsp.rename(sourcePath, target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
        // Temporary directory on another file system: copy, then drop the source.
        await fsp.copyFile(sourcePath, `${target}.part`);
        await fsp.rename(`${target}.part`, target);
        await fsp.rm(sourcePath, { force: true });
      }
    },
    async get(key) {
      const file = pathOf(key);
      try {
        const stat = await fsp.stat(file);
        return { body: fs.createReadStream(file), size: stat.size };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw error;
      }
    },
    async delete(key) {
      await fsp.rm(pathOf(key), { force: true });
    },
    async *list() {
      let page: StoredKey[] = [];
      const dirs = await fsp.readdir(root, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return [];
        throw error;
      });
      for (const dir of dirs) {
        if (!dir.isDirectory()) continue;
        for (const name of await fsp.readdir(path.join(root, dir.name))) {
          const key = `${dir.name}/${name}`;
          if (!KEY.test(key)) continue; // e.g. a `.part` copy in progress
          const stat = await fsp.stat(path.join(root, key)).catch(() => null);
          if (!stat) continue;
          page.push({ key, modifiedAt: stat.mtime });
          if (page.length >= LIST_PAGE) {
            yield page;
            page = [];
          }
        }
      }
      if (page.length > 0) yield page;
    },
  };
}

/** An S3-compatible bucket through the AWS SDK v3. */
export function s3Storage(config: S3StorageConfig): FileStorage & { client: S3Client } {
  const client = new S3Client({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    forcePathStyle: config.forcePathStyle,
    // Checksums only where the API requires them: newer SDKs otherwise send
    // aws-chunked bodies with trailing checksums, which not every
    // S3-compatible store accepts (s3rver does not; older MinIO, R2 in part).
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    ...(config.accessKeyId && config.secretAccessKey
      ? { credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } }
      : {}),
  });
  return {
    kind: "s3",
    client,
    async put(key, sourcePath, meta) {
      await client.send(
        new PutObjectCommand({
          Bucket: config.bucket,
          Key: checkedKey(key),
          Body: fs.createReadStream(sourcePath),
          ContentLength: meta.size,
          ContentType: meta.contentType,
        }),
      );
      await fsp.rm(sourcePath, { force: true });
    },
    async get(key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: config.bucket, Key: checkedKey(key) }));
        return { body: out.Body as Readable, size: Number(out.ContentLength ?? 0) };
      } catch (error) {
        const name = (error as { name?: string }).name;
        if (name === "NoSuchKey" || name === "NotFound") return null;
        throw error;
      }
    },
    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: checkedKey(key) }));
    },
    async *list() {
      let token: string | undefined;
      do {
        const out = await client.send(new ListObjectsV2Command({ Bucket: config.bucket, MaxKeys: LIST_PAGE, ContinuationToken: token }));
        const page = (out.Contents ?? [])
          .filter((o) => o.Key !== undefined && KEY.test(o.Key))
          .map((o) => ({ key: o.Key!, modifiedAt: o.LastModified ?? new Date() }));
        if (page.length > 0) yield page;
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
    },
  };
}
