/**
 * The link preview fetcher against real local HTTP servers. The refusals are
 * the point: every refusal runs with the default address policy (nothing
 * private allowed) unless it needs a first hop to reach a test server, and
 * then exactly that server's address is allowed (127.0.0.2/32) while the
 * target of the refusal (127.0.0.1) is not. Each refused target counts the
 * requests it received: zero.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";
import { isAddressAllowed, makePolicy } from "../../src/chat/address-policy";
import { fetchLinkPreview, type Resolver } from "../../src/chat/link-preview-fetch";

interface TestHttpServer {
  url: string;
  host: string;
  port: number;
  requests: number;
  closed: number;
  server: http.Server;
}

const servers: TestHttpServer[] = [];

async function serve(host: string, handler: http.RequestListener): Promise<TestHttpServer> {
  const state = { requests: 0, closed: 0 } as TestHttpServer;
  const server = http.createServer((req, res) => {
    state.requests += 1;
    req.socket.on("close", () => (state.closed += 1));
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  Object.assign(state, { server, host, port, url: `http://${host}:${port}` });
  servers.push(state);
  return state;
}

afterAll(async () => {
  for (const s of servers) {
    s.server.closeAllConnections();
    await new Promise((resolve) => s.server.close(resolve));
  }
});

const OG_PAGE = `<!doctype html><html><head>
<meta charset="utf-8">
<title>Fallback title</title>
<meta property="og:title" content="Agora &amp; friends">
<meta property='og:description' content="A page with &quot;Open Graph&quot; tags">
<meta property="og:image" content="/images/card.png">
<meta property="og:site_name" content="Example Site">
<!-- <meta property="og:title" content="commented out"> -->
</head><body>hello</body></html>`;

const html = (body: string, headers: http.OutgoingHttpHeaders = {}): http.RequestListener => (_req, res) => {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8", ...headers });
  res.end(body);
};

const ALLOW_SECOND_LOOPBACK = makePolicy(["127.0.0.2/32"]);

let ogServer: TestHttpServer; // on 127.0.0.1: reachable only when a test allows 127.0.0.1/32
let hop: TestHttpServer; // on 127.0.0.2: the first hop of the redirect tests

beforeAll(async () => {
  ogServer = await serve("127.0.0.1", html(OG_PAGE));
  hop = await serve("127.0.0.2", (req, res) => {
    const target = new URL(req.url ?? "/", "http://x").searchParams.get("to");
    if (req.url?.startsWith("/loop")) {
      res.writeHead(302, { location: "/loop" }).end();
    } else if (target) {
      res.writeHead(302, { location: target }).end();
    } else {
      html(OG_PAGE)(req, res);
    }
  });
});

describe("the address policy", () => {
  it.each([
    ["8.8.8.8", true],
    ["172.32.0.1", true],
    ["100.128.0.1", true],
    ["2606:4700:4700::1111", true],
    ["::ffff:8.8.8.8", true],
    ["2002:808:808::1", true],
    ["0.0.0.0", false],
    ["10.1.2.3", false],
    ["100.64.0.1", false],
    ["100.127.255.254", false],
    ["127.0.0.1", false],
    ["127.255.255.254", false],
    ["169.254.169.254", false],
    ["172.16.0.1", false],
    ["172.31.255.255", false],
    ["192.168.1.1", false],
    ["192.0.0.8", false],
    ["198.18.0.1", false],
    ["224.0.0.1", false],
    ["239.255.255.250", false],
    ["255.255.255.255", false],
    ["::", false],
    ["::1", false],
    ["[::1]", false],
    ["fe80::1", false],
    ["fe80::1%eth0", false],
    ["fc00::1", false],
    ["fd12:3456::1", false],
    ["ff02::1", false],
    ["::ffff:127.0.0.1", false],
    ["::ffff:7f00:1", false],
    ["::ffff:10.0.0.1", false],
    ["::ffff:169.254.169.254", false],
    ["64:ff9b::a9fe:a9fe", false],
    ["2002:a00:1::1", false],
    ["::127.0.0.1", false],
    ["2001:db8::1", false],
    ["not an address", false],
  ])("%s → allowed %s", (address, allowed) => {
    expect(isAddressAllowed(address)).toBe(allowed);
  });

  it("an allowed range admits exactly its addresses", () => {
    const policy = makePolicy(["127.0.0.2/32", "fd00:1::/64"]);
    expect(isAddressAllowed("127.0.0.2", policy)).toBe(true);
    expect(isAddressAllowed("::ffff:127.0.0.2", policy)).toBe(true);
    expect(isAddressAllowed("127.0.0.1", policy)).toBe(false);
    expect(isAddressAllowed("127.0.0.3", policy)).toBe(false);
    expect(isAddressAllowed("fd00:1::5", policy)).toBe(true);
    expect(isAddressAllowed("fd00:2::5", policy)).toBe(false);
    expect(() => makePolicy(["10.0.0.0/33"])).toThrow();
  });
});

describe("fetching a preview", () => {
  it("reads og:title, og:description, og:image (made absolute) and og:site_name", async () => {
    const result = await fetchLinkPreview(`${ogServer.url}/article`, { policy: makePolicy(["127.0.0.1/32"]) });
    expect(result).toEqual({
      ok: true,
      url: `${ogServer.url}/article`,
      fields: {
        title: "Agora & friends",
        description: 'A page with "Open Graph" tags',
        imageUrl: `${ogServer.url}/images/card.png`,
        siteName: "Example Site",
      },
    });
  });

  it("falls back to <title> and the description meta tag; gzip is decoded", async () => {
    const page = `<html><head><title>  Plain\n page &#x2014; &#233;t&eacute;  </title><meta name="description" content="Described"></head></html>`;
    const s = await serve("127.0.0.2", (_req, res) => {
      res.writeHead(200, { "content-type": "text/html", "content-encoding": "gzip" });
      res.end(zlib.gzipSync(page));
    });
    const result = await fetchLinkPreview(s.url, { policy: ALLOW_SECOND_LOOPBACK });
    expect(result).toEqual({
      ok: true,
      url: `${s.url}/`,
      fields: { title: "Plain page — été", description: "Described", imageUrl: null, siteName: null },
    });
  });

  it("connects to the address it checked: the name is resolved once per hop, never again", async () => {
    let calls = 0;
    const resolve: Resolver = async (name) => {
      calls += 1;
      expect(name).toBe("preview.test");
      // A rebinding resolver: the first answer passes, any later one would point inside.
      return calls === 1 ? [{ address: "127.0.0.2", family: 4 }] : [{ address: "127.0.0.1", family: 4 }];
    };
    const result = await fetchLinkPreview(`http://preview.test:${hop.port}/`, { policy: ALLOW_SECOND_LOOPBACK, resolve });
    expect(result.ok && result.fields.title).toBe("Agora & friends");
    expect(calls).toBe(1);
  });
});

describe("refusals", () => {
  it("a loopback address, with the default policy: refused before connecting", async () => {
    const before = ogServer.requests;
    expect(await fetchLinkPreview(`${ogServer.url}/article`)).toEqual({ ok: false, failure: "forbidden_address" });
    expect(await fetchLinkPreview(`http://[::ffff:127.0.0.1]:${ogServer.port}/`)).toEqual({ ok: false, failure: "forbidden_address" });
    expect(await fetchLinkPreview(`http://[::1]:${ogServer.port}/`)).toEqual({ ok: false, failure: "forbidden_address" });
    expect(await fetchLinkPreview(`http://0.0.0.0:${ogServer.port}/`)).toEqual({ ok: false, failure: "forbidden_address" });
    expect(ogServer.requests).toBe(before);
  });

  it("a host name resolving to a private address is refused after resolution", async () => {
    const before = ogServer.requests;
    // The system resolver: localhost is loopback.
    expect(await fetchLinkPreview(`http://localhost:${ogServer.port}/`)).toEqual({ ok: false, failure: "forbidden_address" });
    const zone: Record<string, string[]> = {
      "intranet.test": ["10.0.0.5"],
      "metadata.test": ["169.254.169.254"],
      "cgnat.test": ["100.100.1.1"],
      "mapped.test": ["::ffff:192.168.0.1"],
      "ula.test": ["fd00::1"],
      "mixed.test": ["93.184.216.34", "127.0.0.1"],
    };
    const resolve: Resolver = async (name) => zone[name].map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
    for (const name of Object.keys(zone)) {
      expect([name, await fetchLinkPreview(`http://${name}:${ogServer.port}/`, { resolve })]).toEqual([
        name,
        { ok: false, failure: "forbidden_address" },
      ]);
    }
    expect(ogServer.requests).toBe(before);
  });

  it("a redirect to 127.0.0.1 is refused at that hop (only the first hop's address is allowed)", async () => {
    const before = ogServer.requests;
    for (const to of [`${ogServer.url}/`, `http://[::ffff:127.0.0.1]:${ogServer.port}/`, `http://localhost:${ogServer.port}/`]) {
      const result = await fetchLinkPreview(`${hop.url}/?to=${encodeURIComponent(to)}`, { policy: ALLOW_SECOND_LOOPBACK });
      expect([to, result]).toEqual([to, { ok: false, failure: "forbidden_address" }]);
    }
    expect(ogServer.requests).toBe(before);
    // The same redirect to an allowed address is followed: the refusal was the address, not the redirect.
    const followed = await fetchLinkPreview(`${hop.url}/?to=${encodeURIComponent(`${hop.url}/page`)}`, { policy: ALLOW_SECOND_LOOPBACK });
    expect(followed.ok && followed.url).toBe(`${hop.url}/page`);
  });

  it("redirects past the limit are refused; schemes other than http(s) are refused, also as a redirect target", async () => {
    const before = hop.requests;
    expect(await fetchLinkPreview(`${hop.url}/loop`, { policy: ALLOW_SECOND_LOOPBACK, maxRedirects: 3 })).toEqual({
      ok: false,
      failure: "too_many_redirects",
    });
    expect(hop.requests - before).toBe(4); // the first request and three redirects
    for (const url of ["ftp://example.com/", "file:///etc/passwd", "http://user:secret@example.com/", "javascript:alert(1)"]) {
      expect(await fetchLinkPreview(url)).toEqual({ ok: false, failure: "unsupported_url" });
    }
    expect(await fetchLinkPreview(`${hop.url}/?to=${encodeURIComponent("file:///etc/passwd")}`, { policy: ALLOW_SECOND_LOOPBACK })).toEqual({
      ok: false,
      failure: "unsupported_url",
    });
  });

  it("an endless body: reading stops at maxBytes and the connection is closed", async () => {
    let written = 0;
    const s = await serve("127.0.0.2", (_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.write("<html><head><title>Endless</title>");
      const chunk = Buffer.alloc(16_384, "a");
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) written += chunk.length;
        if (!res.destroyed) res.once("drain", pump);
      };
      pump();
    });
    const started = Date.now();
    const result = await fetchLinkPreview(s.url, { policy: ALLOW_SECOND_LOOPBACK, maxBytes: 65_536, timeoutMs: 10_000 });
    expect(result.ok && result.fields.title).toBe("Endless");
    expect(Date.now() - started).toBeLessThan(5_000);
    await new Promise((r) => setTimeout(r, 100));
    expect(s.closed).toBe(1); // the fetcher hung up
    expect(written).toBeLessThan(64 * 1024 * 1024); // the server stopped long before anything large
  });

  it("a slow server: no headers, or a trickling body, times out at timeoutMs", async () => {
    const silent = await serve("127.0.0.2", () => undefined);
    const trickle = await serve("127.0.0.2", (_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write("<")), 50);
    });
    for (const s of [silent, trickle]) {
      const started = Date.now();
      expect(await fetchLinkPreview(s.url, { policy: ALLOW_SECOND_LOOPBACK, timeoutMs: 500 })).toEqual({ ok: false, failure: "timeout" });
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(450);
      expect(elapsed).toBeLessThan(3_000);
    }
  });

  it("a slow resolver times out too", async () => {
    const resolve: Resolver = () => new Promise(() => undefined);
    expect(await fetchLinkPreview("http://slow.test/", { resolve, timeoutMs: 300 })).toEqual({ ok: false, failure: "timeout" });
  });

  it("a response that is not HTML, or not a success, gives no preview", async () => {
    const s = await serve("127.0.0.2", (req, res) => {
      if (req.url === "/json") res.writeHead(200, { "content-type": "application/json" }).end('{"title": "no"}');
      else if (req.url === "/image") res.writeHead(200, { "content-type": "image/png" }).end(Buffer.alloc(100));
      else if (req.url === "/none") res.writeHead(200).end("<title>no type</title>");
      else res.writeHead(404, { "content-type": "text/html" }).end("<title>Not found</title>");
    });
    for (const path of ["/json", "/image", "/none"]) {
      expect(await fetchLinkPreview(`${s.url}${path}`, { policy: ALLOW_SECOND_LOOPBACK })).toEqual({ ok: false, failure: "not_html" });
    }
    expect(await fetchLinkPreview(`${s.url}/missing`, { policy: ALLOW_SECOND_LOOPBACK })).toEqual({ ok: false, failure: "http_error" });
  });
});
