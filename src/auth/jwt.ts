/**
 * Access tokens: JWTs with sub (user id), sid (session id), role, iat, exp,
 * iss and aud. HS256 with the configured secret by default; RS256/ES256
 * from PEM key files, with a `kid` header and a JWKS document for verifiers.
 * Keys are built once: given the secret as a string, jsonwebtoken re-derives
 * the key on every call, which costs far more than the verify. Verification accepts only the
 * configured algorithm, issuer and audience: `alg: none`, a foreign
 * signature or another audience are refused.
 */
import { createPrivateKey, createPublicKey, createSecretKey, type JsonWebKey, type KeyObject } from "node:crypto";
import fs from "node:fs";
import jwt from "jsonwebtoken";
import type { JwtConfig } from "../config";

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
  /** Signs an access token; returns it with its expiry time. */
  sign(claims: { sub: string; sid: string }, ttlSeconds?: number): string;
  verify(token: string): AccessClaims;
  ttlSeconds: number;
  /** The public keys as a JWKS document (empty for HS256, whose key is secret). */
  jwks(): { keys: JsonWebKey[] };
}

export function makeTokenService(options: JwtConfig): TokenService {
  const algorithm = options.algorithm;
  let signingKey: KeyObject;
  let verifyKey: KeyObject;
  let publicJwk: JsonWebKey | null = null;
  if (algorithm === "HS256") {
    if (!options.secret) throw new Error("HS256 needs a secret");
    signingKey = verifyKey = createSecretKey(Buffer.from(options.secret, "utf8"));
  } else {
    signingKey = createPrivateKey(fs.readFileSync(options.privateKeyFile!));
    verifyKey = createPublicKey(fs.readFileSync(options.publicKeyFile!));
    publicJwk = { ...verifyKey.export({ format: "jwk" }), kid: options.keyId ?? undefined, alg: algorithm, use: "sig" };
  }
  const ttlSeconds = options.accessTokenTtlSeconds;
  return {
    ttlSeconds,
    sign(claims, ttl = ttlSeconds) {
      return jwt.sign({ sid: claims.sid, role: "authenticated" }, signingKey, {
        algorithm,
        subject: claims.sub,
        issuer: options.issuer,
        audience: options.audience,
        expiresIn: ttl,
        ...(options.keyId && algorithm !== "HS256" ? { keyid: options.keyId } : {}),
      });
    },
    verify(token) {
      let payload: string | jwt.JwtPayload;
      try {
        payload = jwt.verify(token, verifyKey, {
          algorithms: [algorithm],
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
    jwks: () => ({ keys: publicJwk ? [publicJwk] : [] }),
  };
}

/** The verified claims of an `Authorization` header value; null when there is none. Throws TokenError. */
export function claimsOfAuthorization(tokens: TokenService, header: string | undefined): AccessClaims | null {
  const token = bearerToken(header);
  return token === null ? null : tokens.verify(token);
}

/** Extracts the token from an `Authorization: Bearer …` value; null when absent. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined || header === "") return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new TokenError("TOKEN", "The Authorization header must be 'Bearer <token>'");
  return match[1];
}
