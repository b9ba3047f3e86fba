/** Assembles the file services from the configuration: storage back-end, URL signer, URL maker. */
import { createHmac } from "node:crypto";
import type { Config } from "../config";
import { loadOrCreateDevSecrets } from "../db/secrets";
import type { FileUrls } from "../../plugins/services";
import { fileUrls } from "./routes";
import { makeUrlSigner, type UrlSigner } from "./signing";
import { localStorage, s3Storage, type FileStorage } from "./storage";

export interface FileServices {
  storage: FileStorage;
  signer: UrlSigner;
  urls: FileUrls;
}

export function makeFileServices(config: Config): FileServices {
  const { files } = config;
  // Without FILES_URL_SECRET: a key derived from JWT_SECRET, or in development from the secret kept in DATA_DIR
  // (config refuses production with neither).
  const derive = (key: string) => createHmac("sha256", key).update("agora-file-urls").digest("base64url");
  const secret = files.urlSecret ?? derive(config.jwt.secret ?? loadOrCreateDevSecrets(config.embedded.dataDir).jwtSecret);
  const signer = makeUrlSigner(secret);
  const storage = makeFileStorage(config);
  return {
    storage,
    signer,
    urls: fileUrls(config.publicUrl, signer, { upload: files.uploadUrlTtlSeconds, download: files.downloadUrlTtlSeconds }),
  };
}

/** The configured storage back-end (also for the worker's delete_file_bytes task). */
export function makeFileStorage(config: Config): FileStorage {
  return config.files.storage === "s3" ? s3Storage(config.files.s3) : localStorage(config.files.dir);
}
