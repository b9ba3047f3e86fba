/**
 * Short-lived HMAC-signed URLs for uploads (PUT) and private downloads (GET).
 * The signature covers the action, the file id, the user (uploads) and the
 * expiry; it is compared in constant time. See docs/files.md.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export type UrlAction = "put" | "get";

export interface UrlSigner {
  /** The query string `exp=…&sig=…` (plus `u=…` for uploads) for a URL valid for ttlSeconds. */
  sign(action: UrlAction, fileId: string, userId: string | null, ttlSeconds: number, now?: number): string;
  /** Whether exp/sig are a valid, unexpired signature of (action, fileId, userId). */
  verify(action: UrlAction, fileId: string, userId: string | null, exp: unknown, sig: unknown, now?: number): "ok" | "expired" | "invalid";
}

export function makeUrlSigner(secret: string): UrlSigner {
  const mac = (action: UrlAction, fileId: string, userId: string | null, exp: number) =>
    createHmac("sha256", secret).update(`agora-file:${action}:${fileId}:${userId ?? ""}:${exp}`).digest();
  return {
    sign(action, fileId, userId, ttlSeconds, now = Date.now()) {
      const exp = Math.floor(now / 1000) + ttlSeconds;
      const sig = mac(action, fileId, userId, exp).toString("base64url");
      return `${userId ? `u=${userId}&` : ""}exp=${exp}&sig=${sig}`;
    },
    verify(action, fileId, userId, exp, sig, now = Date.now()) {
      if (typeof exp !== "string" || !/^\d{1,12}$/.test(exp) || typeof sig !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(sig)) {
        return "invalid";
      }
      const expected = mac(action, fileId, userId, Number(exp));
      const given = Buffer.from(sig, "base64url");
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "invalid";
      return Number(exp) * 1000 < now ? "expired" : "ok";
    },
  };
}
