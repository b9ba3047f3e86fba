/**
 * One-click unsubscribe from a notification type's e-mails, without signing
 * in (docs/notifications.md). The link carries a token signed in the database
 * (HMAC-SHA256, app_private.unsubscribe_token); app_private.unsubscribe
 * verifies it and turns the preference off.
 *
 * - POST /unsubscribe?token=… does it: what mail clients send for RFC 8058's
 *   `List-Unsubscribe-Post: List-Unsubscribe=One-Click`, and what the page's
 *   button sends.
 * - GET /unsubscribe?token=… only shows that button: link scanners that
 *   prefetch URLs must not unsubscribe anyone.
 */
import { Router } from "express";
import type pg from "pg";

const page = (body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>Agora e-mails</title></head>` +
  `<body style="font-family: sans-serif">${body}</body></html>`;

const tokenOf = (query: unknown): string | null => {
  const token = (query as { token?: unknown }).token;
  return typeof token === "string" && token.length > 0 && token.length <= 200 ? token : null;
};

export function unsubscribeRouter(ownerPool: pg.Pool): Router {
  const router = Router();
  router.get("/unsubscribe", (req, res) => {
    const token = tokenOf(req.query);
    if (!token) return void res.status(400).type("html").send(page("<p>This unsubscribe link is incomplete.</p>"));
    res
      .type("html")
      .send(
        page(
          `<p>Stop receiving these notification e-mails from Agora?</p>` +
            `<form method="post" action="/unsubscribe?token=${encodeURIComponent(token)}">` +
            `<button type="submit">Unsubscribe</button></form>`,
        ),
      );
  });
  router.post("/unsubscribe", async (req, res, next) => {
    try {
      const token = tokenOf(req.query);
      const { rows } = token
        ? await ownerPool.query<{ ok: boolean }>("select app_private.unsubscribe($1) as ok", [token])
        : { rows: [{ ok: false }] };
      if (!rows[0].ok) return void res.status(400).type("html").send(page("<p>This unsubscribe link is not valid.</p>"));
      res.type("html").send(page("<p>Done: you will no longer receive these e-mails. You can turn them back on in your notification preferences.</p>"));
    } catch (error) {
      next(error);
    }
  });
  return router;
}
