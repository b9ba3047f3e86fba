/**
 * Allow-listed ("persisted", "trusted") operations: with
 * GRAPHQL_OPERATIONS=allow-list the server runs only documents whose SHA-256
 * is in the committed manifest (operations/manifest.json, built by
 * `npm run operations:manifest` from bench/operations/documented.ts).
 *
 * A client names a document by its hash in any of the usual ways —
 * `documentId: "sha256:<hex>"` (GraphQL over HTTP), `id: "<hex>"` (Relay),
 * `extensions.persistedQuery.sha256Hash` (Apollo) — or sends the full text,
 * which is accepted when its hash is listed. Anything else is refused with
 * ALLOW before parsing. Checked in processGraphQLRequestBody, so HTTP and
 * WebSocket alike. (We check ourselves rather than use @grafserv/persisted:
 * it is a few lines, and the manifest format stays the common
 * `{ "<sha256 hex>": "<document>" }` map.)
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import { GraphQLError } from "postgraphile/graphql";
import { requestError } from "./limits";

export type OperationManifest = Record<string, string>;

export function operationHash(document: string): string {
  return createHash("sha256").update(document, "utf8").digest("hex");
}

export function readManifest(file: string): OperationManifest {
  const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error(`${file}: expected a JSON object of hash → document`);
  for (const [hash, document] of Object.entries(parsed)) {
    if (typeof document !== "string" || operationHash(document) !== hash) throw new Error(`${file}: the entry ${hash} does not hash to its key`);
  }
  return parsed as OperationManifest;
}

interface PersistedBody {
  id?: unknown;
  documentId?: unknown;
  query?: unknown;
  extensions?: { persistedQuery?: { sha256Hash?: unknown } } | null;
}

function requestedHash(body: PersistedBody): string | null {
  const candidates = [body.documentId, body.id, body.extensions?.persistedQuery?.sha256Hash];
  for (const candidate of candidates) {
    if (typeof candidate === "string" && candidate !== "") return candidate.replace(/^sha256:/, "").toLowerCase();
  }
  return null;
}

export function makePersistedOperationsPlugin(manifestFile: string): GraphileConfig.Plugin {
  const manifest = readManifest(manifestFile);
  const refuse = (message: string) => requestError(new GraphQLError(message, { extensions: { code: "ALLOW" } }));
  return {
    name: "AgoraPersistedOperationsPlugin",
    version: "1.0.0",
    grafserv: {
      middleware: {
        processGraphQLRequestBody(next, event) {
          const body = event.body as PersistedBody & { query?: unknown };
          const hash = requestedHash(body);
          if (hash !== null) {
            const document = manifest[hash];
            if (document === undefined) throw refuse(`Unknown operation ${hash}: this server runs only the operations in its allow-list`);
            if (typeof body.query === "string" && body.query !== document) throw refuse("The query does not match the operation it names");
            event.body.query = document;
          } else if (typeof body.query !== "string" || manifest[operationHash(body.query)] === undefined) {
            throw refuse("This server runs only allow-listed operations: send a documentId from its manifest");
          }
          return next();
        },
      },
    },
  };
}
