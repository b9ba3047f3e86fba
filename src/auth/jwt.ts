/**
 * Access tokens: HS256 JWTs with sub (user id), sid (session id), role, iat,
 * exp, iss and aud. The key object is built once (STACK.md pitfall 11).
 * Verification accepts only the configured algorithm, issuer and audience:
 * `alg: none`, a foreign signature or another audience are refused.
 */
import { createSecretKey, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";

export interface AccessClaims {
  sub: string;
  sid: string;
  role: "authenticated";
  iat: number;
  exp: number;
  iss: string;
  aud: string;
}

export type TokenProblem = "EXPRD" | "TOKEN";

export class TokenError extends Error {
  constructor(
    public readonly code: TokenProblem,
    message: string,
  ) {
    super(message);
    this.name = "TokenError";
  }
}

export interface TokenService {
  sign(claims: { sub: string; sid: string }, ttlSeconds: number): string;
  verify(token: string): AccessClaims;
}

export function makeTokenService(options: { secret: string; issuer: string; audience: string }): TokenService {
  const key: KeyObject = createSecretKey(Buffer.from(options.secret, "utf8"));
  return {
    sign(claims, ttlSeconds) {
      return jwt.sign({ sid: claims.sid, role: "authenticated" }, key, {
        algorithm: "HS256",
        subject: claims.sub,
        issuer: options.issuer,
        audience: options.audience,
        expiresIn: ttlSeconds,
      });
    },
    verify(token) {
      let payload: string | jwt.JwtPayload;
      try {
        payload = jwt.verify(token, key, {
          algorithms: ["HS256"],
          issuer: options.issuer,
          audience: options.audience,
        });
      } catch (error) {
        if (error instanceof jwt.TokenExpiredError) throw new TokenError("EXPRD", "The access token has expired");
        throw new TokenError("TOKEN", "The access token is invalid");
      }
      if (
        typeof payload !== "object" ||
        typeof payload.sub !== "string" ||
        typeof payload.sid !== "string" ||
        payload.role !== "authenticated"
      ) {
        throw new TokenError("TOKEN", "The access token is missing required claims");
      }
      return payload as AccessClaims;
    },
  };
}

/** Extracts the token from an `Authorization: Bearer …` value; null when absent. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined || header === "") return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new TokenError("TOKEN", "The Authorization header must be 'Bearer <token>'");
  return match[1];
}
