/**
 * The link preview fetcher: GET an http(s) URL and read the preview fields of
 * its HTML, refusing what a server-side fetch must not do (SSRF).
 *
 * - The host name is resolved first, every address it resolves to is checked
 *   against the address policy (./address-policy), and the connection goes to
 *   exactly the address checked: the request's `lookup` answers with it, so
 *   there is no second DNS query an attacker could answer differently
 *   (DNS rebinding). IP literals are checked as they are.
 * - Redirects are followed by hand, at most `maxRedirects`, each hop checked
 *   the same way (scheme, credentials, addresses).
 * - One deadline covers all hops (`timeoutMs`); at most `maxBytes` of body
 *   are read (after decompression), and reading stops at </head>.
 * - Only http and https, only 2xx text/html (or XHTML) responses.
 * No proxy, no connection reuse, no cookies.
 */
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import zlib from "node:zlib";
import type { Readable } from "node:stream";
import { DEFAULT_POLICY, isAddressAllowed, parseIp, type AddressPolicy } from "./address-policy";
import { decodeBody, parsePreview, sniffCharset, type PreviewFields } from "./link-preview-html";

export type PreviewFailure =
  | "forbidden_address"
  | "unsupported_url"
  | "too_many_redirects"
  | "timeout"
  | "not_html"
  | "http_error"
  | "network";

export type PreviewResult = { ok: true; url: string; fields: PreviewFields } | { ok: false; failure: PreviewFailure };

export interface LinkPreviewLimits {
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
}

export const DEFAULT_LIMITS: LinkPreviewLimits = { maxBytes: 262_144, timeoutMs: 5_000, maxRedirects: 3 };

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to all its addresses (the system resolver by default). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

const systemResolver: Resolver = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

export interface FetchOptions extends Partial<LinkPreviewLimits> {
  policy?: AddressPolicy;
  resolve?: Resolver;
}

class Refusal extends Error {
  constructor(readonly failure: PreviewFailure) {
    super(failure);
  }
}

/** The one address a URL's host may be reached at, checked; throws a Refusal otherwise. */
async function checkedAddress(url: URL, policy: AddressPolicy, resolve: Resolver): Promise<ResolvedAddress> {
  const literal = parseIp(url.hostname);
  const addresses = literal
    ? [{ address: url.hostname.replace(/^\[|\]$/g, ""), family: literal.family }]
    : await resolve(url.hostname).catch(() => {
        throw new Refusal("network");
      });
  if (addresses.length === 0) throw new Refusal("network");
  // One forbidden address refuses the host: a name that also points inside is not a public site.
  if (addresses.some((a) => !isAddressAllowed(a.address, policy))) throw new Refusal("forbidden_address");
  return addresses[0];
}

function checkedUrl(text: string, base?: string): URL {
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    throw new Refusal("unsupported_url");
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.username || url.password) throw new Refusal("unsupported_url");
  return url;
}

interface Hop {
  response: http.IncomingMessage;
  request: http.ClientRequest;
}

function request(url: URL, target: ResolvedAddress, signal: AbortSignal): Promise<Hop> {
  // The connection goes to the checked address, whatever the name would resolve to now.
  const lookup: LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  const isLiteral = parseIp(url.hostname) !== null;
  const transport = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      {
        protocol: url.protocol,
        hostname: isLiteral ? target.address : url.hostname,
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: "GET",
        lookup,
        agent: false,
        signal,
        headers: {
          accept: "text/html,application/xhtml+xml;q=0.9",
          "accept-encoding": "gzip, deflate, br",
          "user-agent": "AgoraLinkPreview/1.0 (+link previews for chat)",
        },
      },
      (response) => resolve({ response, request: req }),
    );
    req.on("error", reject);
    req.end();
  });
}

function decoded(response: http.IncomingMessage): Readable {
  switch ((response.headers["content-encoding"] ?? "identity").toLowerCase()) {
    case "gzip":
    case "x-gzip":
      return response.pipe(zlib.createGunzip());
    case "deflate":
      return response.pipe(zlib.createInflate());
    case "br":
      return response.pipe(zlib.createBrotliDecompress());
    default:
      return response;
  }
}

/** Reads at most maxBytes of the (decompressed) body, stopping early after </head>. */
async function readHead(hop: Hop, maxBytes: number): Promise<Buffer> {
  const body = decoded(hop.response);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      chunks.push(buf.subarray(0, maxBytes - size));
      size += Math.min(buf.length, maxBytes - size);
      if (size >= maxBytes || /<\/head\s*>/i.test(buf.toString("latin1"))) break;
    }
  } finally {
    hop.request.destroy();
    if (body !== hop.response) body.destroy();
  }
  return Buffer.concat(chunks);
}

/** The promise's outcome, or a timeout Refusal when the deadline passes first (a slow resolver). */
function beforeDeadline<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new Refusal("timeout"));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

export async function fetchLinkPreview(urlText: string, options: FetchOptions = {}): Promise<PreviewResult> {
  const limits = { ...DEFAULT_LIMITS, ...options };
  const policy = options.policy ?? DEFAULT_POLICY;
  const resolve = options.resolve ?? systemResolver;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), limits.timeoutMs);
  let hop: Hop | null = null;
  try {
    let url = checkedUrl(urlText);
    for (let redirects = 0; ; redirects += 1) {
      const target = await beforeDeadline(checkedAddress(url, policy, resolve), controller.signal);
      hop = await request(url, target, controller.signal);
      const { statusCode = 0, headers } = hop.response;
      if (statusCode >= 300 && statusCode < 400 && headers.location) {
        hop.request.destroy();
        hop = null;
        if (redirects >= limits.maxRedirects) throw new Refusal("too_many_redirects");
        url = checkedUrl(headers.location, url.href);
        continue;
      }
      if (statusCode < 200 || statusCode >= 300) throw new Refusal("http_error");
      const contentType = String(headers["content-type"] ?? "");
      if (!/^\s*(text\/html|application\/xhtml\+xml)\s*(;|$)/i.test(contentType)) throw new Refusal("not_html");
      const body = await readHead(hop, limits.maxBytes);
      return { ok: true, url: url.href, fields: parsePreview(decodeBody(body, sniffCharset(contentType, body)), url.href) };
    }
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, failure: error.failure };
    return { ok: false, failure: controller.signal.aborted ? "timeout" : "network" };
  } finally {
    clearTimeout(timer);
    hop?.request.destroy();
  }
}
