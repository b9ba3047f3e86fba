/**
 * Link previews in the database: a message's URLs are related to one shared
 * preview row per normalised URL and a fetch_link_preview job is enqueued in
 * the message's own transaction (only for a URL never fetched, or fetched
 * longer ago than the TTL); previews are readable where a message naming
 * them is readable; the task records what the fetcher found, or why not.
 * The fetcher's refusals themselves are in link-preview-fetch.test.ts.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type pg from "pg";
import { makePolicy } from "../../src/chat/address-policy";
import { fetchLinkPreviewTask, refreshLinkPreview } from "../../src/tasks/fetch_link_preview";
import { asRole, closeSqlHelpers, rootDb } from "../helpers/sql";
import { runQueuedJobs } from "../helpers/jobs";
import { startTestServer, type TestServer } from "../helpers/server";
import { asUser, uniqueName, type TestUser } from "../helpers/users";
import { arrangeRoom, bulkLoad, createChatUsers, type ChatUsers } from "./fixtures";

let u: ChatUsers;
let pub: string;
let priv: string;
let site: http.Server;
let siteUrl: string;
let siteRequests = 0;
let server: TestServer;

beforeAll(async () => {
  u = await createChatUsers();
  await bulkLoad(async (c) => {
    pub = await arrangeRoom(c, u.owner, "public", [[u.member, "member"], [u.blocker, "member"]]);
    priv = await arrangeRoom(c, u.owner, "private", [[u.member, "member"], [u.blocker, "member"]]);
  });
  site = http.createServer((_req, res) => {
    siteRequests += 1;
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<html><head><meta property="og:title" content="Local article"><meta property="og:site_name" content="Local"></head></html>`);
  });
  await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
  await new Promise((resolve) => site.close(resolve));
  await closeSqlHelpers();
});

/** The fetch_link_preview jobs of a URL, read as the superuser inside the test's transaction. */
async function jobsFor(c: pg.PoolClient, url: string): Promise<Array<{ revision: number; payload: { url: string } }>> {
  await c.query("savepoint jobs; reset role");
  const { rows } = await c.query(
    `select j.revision, j.payload from graphile_worker._private_jobs j
       join graphile_worker._private_tasks t on t.id = j.task_id
      where t.identifier = 'fetch_link_preview' and j.key = 'link_preview:' || md5($1)`,
    [url],
  );
  await c.query("rollback to savepoint jobs");
  return rows;
}

async function send(c: pg.PoolClient, room: string, body: string): Promise<string> {
  const { rows } = await c.query<{ id: string }>("insert into app_public.messages (room_id, body) values ($1, $2) returning id", [room, body]);
  return rows[0].id;
}

async function previewsOf(c: pg.PoolClient, messageId: string): Promise<Array<{ url: string; position: number }>> {
  const { rows } = await c.query("select url, position from app_public.message_link_previews where message_id = $1 order by position", [messageId]);
  return rows;
}

describe("sending a message with URLs", () => {
  it("relates each distinct normalised http(s) URL once, in order, and enqueues one fetch per URL in the same transaction", async () => {
    const tag = uniqueName("p");
    await asRole(asUser(u.member), async (c) => {
      const id = await send(
        c,
        pub,
        `See HTTPS://Example.COM:443/${tag}?a=1#top, then https://example.com/${tag}?a=1. ` +
          `Also **http://docs.example.org/${tag}/** and [a link](https://example.net/${tag}). ` +
          `Not these: ftp://example.com/${tag} https://user:pw@example.com/${tag} mailto:x@example.com`,
      );
      expect(await previewsOf(c, id)).toEqual([
        { url: `https://example.com/${tag}?a=1`, position: 1 },
        { url: `http://docs.example.org/${tag}/`, position: 3 },
        { url: `https://example.net/${tag}`, position: 4 },
      ]);
      const { rows } = await c.query("select url, status, fetched_at from app_public.link_previews where url like '%' || $1 || '%' order by url", [tag]);
      expect(rows).toHaveLength(3);
      expect(rows.every((r) => r.status === "pending" && r.fetched_at === null)).toBe(true);
      expect(await jobsFor(c, `https://example.com/${tag}?a=1`)).toEqual([{ revision: 0, payload: { url: `https://example.com/${tag}?a=1` } }]);

      // A second message naming the same URL shares the row and enqueues nothing more.
      const again = await send(c, pub, `https://example.com/${tag}?a=1`);
      expect(await previewsOf(c, again)).toEqual([{ url: `https://example.com/${tag}?a=1`, position: 1 }]);
      expect(await jobsFor(c, `https://example.com/${tag}?a=1`)).toEqual([{ revision: 0, payload: { url: `https://example.com/${tag}?a=1` } }]);
    });
  });

  it("a fresh preview is reused; one older than chat.link_preview_ttl is fetched again", async () => {
    const fresh = `https://fresh.example/${uniqueName("p")}`;
    const stale = `https://stale.example/${uniqueName("p")}`;
    await rootDb().query(
      `insert into app_public.link_previews (url, status, title, fetched_at) values
         ($1, 'ready', 'Fresh', now() - (app_private.setting('chat.link_preview_ttl') #>> '{}')::interval + interval '1 hour'),
         ($2, 'ready', 'Stale', now() - (app_private.setting('chat.link_preview_ttl') #>> '{}')::interval - interval '1 hour')`,
      [fresh, stale],
    );
    try {
      await asRole(asUser(u.member), async (c) => {
        await send(c, pub, `${fresh} and ${stale}`);
        expect(await jobsFor(c, fresh)).toEqual([]);
        expect(await jobsFor(c, stale)).toHaveLength(1);
        // The stale preview still shows while it is fetched again.
        expect((await c.query("select title from app_public.link_previews where url = $1", [stale])).rows).toEqual([{ title: "Stale" }]);
      });
    } finally {
      await rootDb().query("delete from app_public.link_previews where url = any($1)", [[fresh, stale]]);
    }
  });

  it("editing recomputes the previews; deleting the message drops them; system messages and bulk loads have none", async () => {
    const tag = uniqueName("p");
    await asRole(asUser(u.member), async (c) => {
      const id = await send(c, pub, `https://one.example/${tag}`);
      await c.query("update app_public.messages set body = $2 where id = $1", [id, `now https://two.example/${tag}`]);
      expect(await previewsOf(c, id)).toEqual([{ url: `https://two.example/${tag}`, position: 1 }]);
      await c.query("select app_public.delete_message($1)", [id]);
      expect(await previewsOf(c, id)).toEqual([]);
    });
    const bulk = await bulkLoad(async (c) => {
      const { rows } = await c.query<{ id: string }>(
        "insert into app_public.messages (room_id, author_id, body) values ($1, $2, $3) returning id",
        [pub, u.member.id, `https://bulk.example/${tag}`],
      );
      return rows[0].id;
    });
    expect((await rootDb().query("select count(*)::int as n from app_public.message_link_previews where message_id = $1", [bulk])).rows[0].n).toBe(0);
  });

  it("sending never waits for a fetch: the message commits while the preview is pending", async () => {
    {
      const url = `${siteUrl}/${uniqueName("p")}`;
      const res = await server.graphql<{ createMessage: { message: { rowId: string } } }>(
        `mutation ($roomId: UUID!, $body: String!) { createMessage(input: { message: { roomId: $roomId, body: $body } }) { message { rowId } } }`,
        { roomId: pub, body: url },
        { token: server.tokenFor(u.member) },
      );
      expect(res.errors).toBeUndefined();
      const { rows } = await rootDb().query("select status from app_public.link_previews where url = $1", [url]);
      expect(rows).toEqual([{ status: "pending" }]);
    }
  });
});

describe("who reads a preview", () => {
  let privateUrl: string;
  let publicUrl: string;
  let blockedUrl: string;
  let messageId: string;

  beforeAll(async () => {
    privateUrl = `${siteUrl}/private/${uniqueName("p")}`;
    publicUrl = `${siteUrl}/public/${uniqueName("p")}`;
    blockedUrl = `${siteUrl}/blocked/${uniqueName("p")}`;
    const c = await rootDb().connect();
    try {
      // Committed, as requests would: the trigger relates the URLs (no bulk load).
      const insert = (room: string, author: TestUser, body: string) =>
        c.query<{ id: string }>("insert into app_public.messages (room_id, author_id, body) values ($1, $2, $3) returning id", [room, author.id, body]);
      messageId = (await insert(priv, u.member, `private ${privateUrl}`)).rows[0].id;
      await insert(pub, u.owner, `public ${publicUrl}`);
      await insert(pub, u.member, `blocked ${blockedUrl}`); // u.blocker blocks u.member
      await c.query("insert into app_public.user_blocks (blocker_id, blocked_id) values ($1, $2) on conflict do nothing", [u.blocker.id, u.member.id]);
    } finally {
      c.release();
    }
  });

  const visible = (user: TestUser | null, url: string) =>
    asRole(user ? asUser(user) : { role: "anonymous" }, async (c) => {
      const previews = await c.query("select 1 from app_public.link_previews where url = $1", [url]);
      const links = await c.query("select 1 from app_public.message_link_previews where url = $1", [url]);
      return [previews.rowCount, links.rowCount];
    });

  it("readable where a message naming it is readable: private rooms to members, public rooms to everyone, never past a block", async () => {
    expect(await visible(u.member, privateUrl)).toEqual([1, 1]);
    expect(await visible(u.owner, privateUrl)).toEqual([1, 1]);
    expect(await visible(u.outsider, privateUrl)).toEqual([0, 0]);
    expect(await visible(u.moderator, privateUrl)).toEqual([0, 0]);
    expect(await visible(null, privateUrl)).toEqual([0, 0]);
    expect(await visible(null, publicUrl)).toEqual([1, 1]);
    expect(await visible(u.outsider, publicUrl)).toEqual([1, 1]);
    expect(await visible(u.owner, blockedUrl)).toEqual([1, 1]);
    expect(await visible(u.blocker, blockedUrl)).toEqual([0, 0]);
  });

  it("nobody writes previews through the API", async () => {
    await asRole(asUser(u.member), async (c) => {
      await expect(c.query("insert into app_public.link_previews (url) values ('https://forged.example/')")).rejects.toThrow(/permission denied/);
    });
    await asRole(asUser(u.member), async (c) => {
      await expect(c.query("update app_public.link_previews set title = 'forged' where url = $1", [privateUrl])).rejects.toThrow(/permission denied/);
    });
    await asRole(asUser(u.member), async (c) => {
      await expect(c.query("delete from app_public.message_link_previews where url = $1", [privateUrl])).rejects.toThrow(/permission denied/);
    });
  });

  it("the task records the fetched fields (the test server's address allowed), and members read them over GraphQL", async () => {
    const before = siteRequests;
    const c = await rootDb().connect();
    try {
      const result = await refreshLinkPreview(c, privateUrl, { policy: makePolicy(["127.0.0.1/32"]) });
      expect(result.ok).toBe(true);
    } finally {
      c.release();
    }
    expect(siteRequests).toBe(before + 1);
    const QUERY = `query ($id: UUID!) { messageByRowId(rowId: $id) {
      messageLinkPreviewsByMessageId { nodes { position linkPreviewByUrl { url status title description imageUrl siteName failure fetchedAt } } } } }`;
    const asMember = await server.graphql<{ messageByRowId: { messageLinkPreviewsByMessageId: { nodes: unknown[] } } }>(
      QUERY,
      { id: messageId },
      { token: server.tokenFor(u.member) },
    );
    expect(asMember.errors).toBeUndefined();
    expect(asMember.data!.messageByRowId.messageLinkPreviewsByMessageId.nodes).toEqual([
      {
        position: 1,
        linkPreviewByUrl: expect.objectContaining({
          url: privateUrl,
          status: "ready",
          title: "Local article",
          description: null,
          imageUrl: null,
          siteName: "Local",
          failure: null,
          fetchedAt: expect.any(String),
        }),
      },
    ]);
    const asOutsider = await server.graphql(QUERY, { id: messageId }, { token: server.tokenFor(u.outsider) });
    expect(asOutsider.data).toEqual({ messageByRowId: null });
  });

  it("the worker, with the default policy (no allowed ranges), records a loopback URL as failed without connecting", async () => {
    const before = siteRequests;
    await runQueuedJobs({ fetch_link_preview: fetchLinkPreviewTask });
    const { rows } = await rootDb().query("select status, failure, title, fetched_at is not null as fetched from app_public.link_previews where url = any($1) order by url", [
      [publicUrl, blockedUrl],
    ]);
    expect(rows).toEqual([
      { status: "failed", failure: "forbidden_address", title: null, fetched: true },
      { status: "failed", failure: "forbidden_address", title: null, fetched: true },
    ]);
    expect(siteRequests).toBe(before);
    expect((await rootDb().query("select value from app_private.settings where key = 'chat.link_preview_allowed_cidrs'")).rows[0].value).toEqual([]);
  });
});
