/**
 * Verifies the bearer token before GraphQL runs: a bad or expired token is
 * answered here with 401 and a JSON error (throwing from PostGraphile's
 * pgSettings callback instead would give HTTP 500).
 * Verified claims are left on `req.auth` for pgSettings.
 */
import type { NextFunction, Request, Response } from "express";
import { bearerToken, TokenError, type AccessClaims, type TokenService } from "./jwt";

declare module "http" {
  interface IncomingMessage {
    auth?: AccessClaims | null;
  }
}

export function bearerAuth(tokens: TokenService) {
  return (req: Request, res: Response, next: NextFunction) => {
    try {
      const token = bearerToken(req.headers.authorization);
      req.auth = token === null ? null : tokens.verify(token);
      next();
    } catch (error) {
      if (!(error instanceof TokenError)) return next(error);
      res
        .status(401)
        .set("WWW-Authenticate", `Bearer error="invalid_token"`)
        .json({ errors: [{ message: error.message, extensions: { code: error.code } }] });
    }
  };
}
