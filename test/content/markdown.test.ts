/**
 * Markdown bodies become HTML that cannot run anything: a corpus of XSS
 * vectors rendered by renderMarkdown and checked by an independent scan of
 * the output (not by trusting sanitize-html), the markdown a writer expects
 * to work, and one post over the real HTTP API whose `bodyHtml` is inert
 * while `body` keeps exactly what was written.
 */
import { renderCacheSize, renderMarkdown } from "../../plugins/render-markdown";
import { closeSqlHelpers, rootDb } from "../helpers/sql";
import { startTestServer, type TestServer } from "../helpers/server";
import { createTestUser } from "../helpers/users";

/** Tags a rendered body may contain at all; anything else is a failure. */
const ALLOWED_TAGS = new Set([
  "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code", "em", "strong", "s", "del",
  "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
]);
const DANGEROUS_TAGS = /^(script|iframe|object|embed|style|svg|math|link|meta|base|form|input|button|frame|frameset|applet|details|template|textarea|select|video|audio|source|xmp|noscript)$/i;
const SAFE_SCHEMES = new Set(["http", "https", "mailto"]);

interface ScannedTag {
  name: string;
  closing: boolean;
  attributes: Array<{ name: string; value: string }>;
}

/** Decodes the character references a browser would decode in an attribute value. */
function decodeEntities(value: string): string {
  return value
    .replace(/&#x([0-9a-f]+);?/gi, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);?/g, (_, dec: string) => String.fromCodePoint(parseInt(dec, 10)))
    .replace(/&colon;/gi, ":")
    .replace(/&tab;/gi, "\t")
    .replace(/&newline;/gi, "\n")
    .replace(/&quot;/gi, '"')
    .replace(/&apos;/gi, "'")
    .replace(/&lt;/gi, "<")
    .replace(/&gt;/gi, ">")
    .replace(/&amp;/gi, "&");
}

/** Every start/end tag in `html`, with its attributes (a tolerant scan, like a browser's tokenizer). */
function scanTags(html: string): ScannedTag[] {
  const tags: ScannedTag[] = [];
  const tagPattern = /<(\/?)([a-zA-Z][^\s/>]*)((?:[^>"']|"[^"]*"|'[^']*')*)>/g;
  for (const match of html.matchAll(tagPattern)) {
    const attributes: ScannedTag["attributes"] = [];
    const attrPattern = /([^\s"'>/=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?/g;
    for (const attr of match[3].matchAll(attrPattern)) {
      const raw = attr[2] ?? "";
      const unquoted = raw.startsWith('"') || raw.startsWith("'") ? raw.slice(1, -1) : raw;
      attributes.push({ name: attr[1].toLowerCase(), value: decodeEntities(unquoted) });
    }
    tags.push({ name: match[2].toLowerCase(), closing: match[1] === "/", attributes });
  }
  return tags;
}

/** The URL scheme a browser would see (control characters and whitespace are ignored by URL parsers). */
function schemeOf(url: string): string | null {
  // eslint-disable-next-line no-control-regex
  const cleaned = url.replace(/[\u0000-\u0020\u007f-\u009f]/g, "");
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(cleaned);
  return match ? match[1].toLowerCase() : null;
}

/** Fails with a readable message when `html` contains anything that could run. */
function expectInert(html: string, source: string): void {
  const problems: string[] = [];
  if (/<\s*script/i.test(html)) problems.push("a <script> tag");
  for (const tag of scanTags(html)) {
    if (DANGEROUS_TAGS.test(tag.name)) problems.push(`a <${tag.name}> element`);
    if (!ALLOWED_TAGS.has(tag.name)) problems.push(`a tag outside the allow-list: <${tag.name}>`);
    for (const attr of tag.attributes) {
      if (/^on/i.test(attr.name)) problems.push(`an event handler ${attr.name} on <${tag.name}>`);
      if (["href", "src", "action", "formaction", "xlink:href", "data", "srcset", "background", "poster"].includes(attr.name)) {
        const scheme = schemeOf(attr.value);
        if (scheme !== null && !SAFE_SCHEMES.has(scheme)) problems.push(`a ${scheme}: URL in ${attr.name} of <${tag.name}>`);
        if (tag.name === "img" && attr.name === "src" && scheme === "mailto") problems.push("a mailto: image");
        if (attr.value.startsWith("//")) problems.push(`a protocol-relative URL in ${attr.name}`);
      }
      if (attr.name === "style" && /(url\s*\(|expression\s*\(|javascript:)/i.test(attr.value)) {
        problems.push(`an active style on <${tag.name}>: ${attr.value}`);
      }
    }
  }
  // Belt and braces: an on…= anywhere inside a tag, outside quoted attribute values.
  for (const tag of html.match(/<[a-zA-Z](?:[^>"']|"[^"]*"|'[^']*')*>/g) ?? []) {
    if (/[\s/"']on\w+\s*=/i.test(tag.replace(/"[^"]*"|'[^']*'/g, '""'))) problems.push(`an on…= attribute in ${tag}`);
  }
  if (problems.length > 0) {
    throw new Error(`rendering ${JSON.stringify(source)} gave ${JSON.stringify(html)}:\n  ${problems.join("\n  ")}`);
  }
}

const XSS_VECTORS: Array<[string, string]> = [
  ["script tag", "<script>alert(1)</script>"],
  ["script tag split over lines", "<scr\nipt>alert(1)</script>\n\n<SCRIPT SRC=https://evil.example/x.js></SCRIPT>"],
  ["img onerror", "<img src=x onerror=alert(1)>"],
  ["img onerror, quoted, in a paragraph", 'Hello <img src="x" onerror="alert(document.cookie)"> world'],
  ["svg onload", "<svg onload=alert(1)>"],
  ["svg with script inside", "<svg><script>alert(1)</script></svg>"],
  ["svg animate href", '<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">x</text></a></svg>'],
  ["MathML mutation trick", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>"],
  ["javascript: markdown link", "[click me](javascript:alert(1))"],
  ["mixed-case JaVaScRiPt: link", "[click me](JaVaScRiPt:alert(1))"],
  ["entity-encoded &#106;avascript: link", "[click me](&#106;avascript:alert(1))"],
  ["hex-entity javascript link", "[click me](&#x6A;&#x61;vascript:alert(1))"],
  ["&colon; javascript link", "[click me](javascript&colon;alert(1))"],
  ["tab inside javascript: link", "[click me](java&#x09;script:alert(1))"],
  ["leading spaces before javascript:", "[click me](<  javascript:alert(1)>)"],
  ["data:text/html link", "[click me](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"],
  ["data:text/html link with a script", "[x](data:text/html,<script>alert(1)</script>)"],
  ["vbscript: link", "[click me](vbscript:msgbox(1))"],
  ["javascript: autolink", "<javascript:alert(1)>"],
  ["vbscript: autolink", "<vbscript:msgbox(1)>"],
  ["data: autolink", "<data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==>"],
  ["javascript: image", "![x](javascript:alert(1))"],
  ["data: image (svg)", "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)"],
  ["data: image (png)", "![x](data:image/png;base64,iVBORw0KGgo=)"],
  ["protocol-relative image", "![x](//evil.example/pixel.png)"],
  ["reference-style javascript: link", "[click me][evil]\n\n[evil]: javascript:alert(1)"],
  ["reference-style javascript: image", "![x][evil]\n\n[evil]: JAVASCRIPT:alert(1)"],
  ["iframe", '<iframe src="https://evil.example"></iframe>'],
  ["iframe srcdoc", '<iframe srcdoc="<script>alert(1)</script>"></iframe>'],
  ["object", '<object data="https://evil.example/x.swf"></object>'],
  ["embed", '<embed src="https://evil.example/x.swf">'],
  ["style element", "<style>body{background:url(javascript:alert(1))}</style>"],
  ["style attribute", '<p style="background:url(javascript:alert(1))">x</p>'],
  ["link and meta refresh", '<link rel=stylesheet href=javascript:alert(1)>\n<meta http-equiv="refresh" content="0;url=javascript:alert(1)">'],
  ["base href", '<base href="javascript:alert(1)//">'],
  ["form action and button formaction", '<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">x</button></form>'],
  ["input autofocus onfocus", "<input onfocus=alert(1) autofocus>"],
  ["details ontoggle", "<details open ontoggle=alert(1)>"],
  ["unclosed img tag", '<img src="x" onerror="alert(1)"'],
  ["unclosed tag before markdown", "<img src=x onerror=alert(1)//\n\n**bold**"],
  ["HTML comment breaking out", '<!--<img src="--><img src=x onerror=alert(1)//">'],
  ["comment inside attribute", '<a title="<!--" href="javascript:alert(1)">--></a>'],
  ["link title attribute injection (double quotes)", '[a](https://example.com "title\\" onmouseover=\\"alert(1)")'],
  ["link title attribute injection (single quotes)", "[a](https://example.com 'x\" onclick=\"alert(1)')"],
  ["image title attribute injection", '![a](https://example.com/a.png "x\\" onerror=\\"alert(1)")'],
  ["quote inside image URL", '![x](https://example.com/a.png"onerror="alert(1))'],
  ["quote inside autolink", '<https://example.com/" onmouseover="alert(1)>'],
  ["linkified URL followed by a script", 'Visit https://example.com/?q="><script>alert(1)</script> now'],
  ["raw HTML link", '<a href="javascript:alert(1)">raw</a>'],
  ["raw HTML link with an https href and onclick", '<a href="https://ok.example" onclick="alert(1)">x</a>'],
  ["raw HTML data: link", '<a href="data:text/html,<script>alert(1)</script>">x</a>'],
  ["markdown around raw HTML", "**<a href=\"javascript:alert(1)\">bold</a>** and _<img src=x onerror=alert(2)>_"],
  ["link text with raw HTML", "[<img src=x onerror=alert(1)>](https://example.com)"],
  ["nested link in image alt", "![<script>alert(1)</script>](https://example.com/a.png)"],
  ["raw HTML inside a table cell", "| a | b |\n|:-:|---|\n| <b onmouseover=alert(1)>x</b> | [y](javascript:alert(1)) |"],
  ["raw HTML inside a list and a blockquote", "- <svg onload=alert(1)>\n- item\n\n> <iframe src=javascript:alert(1)>"],
  ["fence info string injection", '```"><script>alert(1)</script>\ncode\n```'],
  ["fence info with a handler", "```js onmouseover=alert(1)\nlet a = 1;\n```"],
  ["code class injection", '```x" onclick="alert(1)\ncode\n```'],
  ["null byte in scheme", "[x](java\u0000script:alert(1))"],
  ["percent-encoded script in URL", "[x](https://example.com/%22%3E%3Cscript%3Ealert(1)%3C/script%3E)"],
  ["noscript/template/textarea", "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript><template><script>alert(1)</script></template>"],
  ["xmp and plaintext", "<xmp><script>alert(1)</script></xmp>"],
];

describe("renderMarkdown: untrusted bodies come out inert", () => {
  it("has a corpus of at least 25 vectors", () => {
    expect(XSS_VECTORS.length).toBeGreaterThanOrEqual(25);
  });

  it.each(XSS_VECTORS)("%s", (_name, source) => {
    const html = renderMarkdown(source);
    expectInert(html, source);
  });

  it("shows raw HTML from the source as text, not as markup", () => {
    const html = renderMarkdown('<img src=x onerror=alert(1)> and <b>bold</b>');
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(html).toContain("&lt;b&gt;bold&lt;/b&gt;");
    expect(html).not.toMatch(/<img|<b>/);
  });

  it("keeps the text of a refused link visible, with no link around it", () => {
    const html = renderMarkdown("[click me](javascript:alert(1))");
    expect(html).not.toMatch(/<a\b/);
    expect(html).toContain("click me");
  });

  it("the checker itself catches what it is meant to catch", () => {
    // A guard against a scanner that passes everything.
    expect(() => expectInert('<a href="javascript:alert(1)">x</a>', "")).toThrow(/javascript: URL/);
    expect(() => expectInert('<a href="&#106;avascript:alert(1)">x</a>', "")).toThrow(/javascript: URL/);
    expect(() => expectInert('<img src="data:image/png;base64,AA">', "")).toThrow(/data: URL/);
    expect(() => expectInert("<img src=x onerror=alert(1)>", "")).toThrow(/event handler/);
    expect(() => expectInert("<svg></svg>", "")).toThrow(/<svg> element/);
    expect(() => expectInert("<p>fine</p>", "")).not.toThrow();
  });
});

describe("renderMarkdown: the render cache", () => {
  it("returns the same HTML from the cache as from a fresh render, and a different body its own", () => {
    const source = `**cached** ${Date.now()} <script>x</script>`;
    const first = renderMarkdown(source);
    const again = renderMarkdown(source);
    expect(again).toBe(first);
    expect(first).toContain("<strong>cached</strong>");
    expect(first).not.toContain("<script");
    expect(renderMarkdown(source + " more")).not.toBe(first);
  });

  it("stays within its bound (16 Mi characters) however many distinct bodies pass through", () => {
    const paragraph = "word ".repeat(12_000); // 60 kB, under the per-body limit of 64 kB
    for (let i = 0; i < 200; i++) expect(renderMarkdown(`${i} ${paragraph}`).length).toBeGreaterThan(60_000);
    const { entries, chars } = renderCacheSize();
    expect(chars).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect(entries).toBeLessThan(200);
    expect(entries).toBeGreaterThan(100);
  });
});

describe("renderMarkdown: the markdown writers use still works", () => {
  it("renders headings, emphasis, strike-through and paragraphs", () => {
    const html = renderMarkdown("# Title\n\n## Sub\n\nSome *em*, **strong** and ~~gone~~ text.\n\n---");
    expect(html).toContain("<h1>Title</h1>");
    expect(html).toContain("<h2>Sub</h2>");
    expect(html).toContain("<em>em</em>");
    expect(html).toContain("<strong>strong</strong>");
    expect(html).toMatch(/<(s|del)>gone<\/(s|del)>/);
    expect(html).toMatch(/<hr \/>|<hr>/);
  });

  it("renders bullet and numbered lists, keeping the start number", () => {
    const html = renderMarkdown("- one\n- two\n\n3. three\n4. four");
    expect(html).toMatch(/<ul>\s*<li>one<\/li>\s*<li>two<\/li>\s*<\/ul>/);
    expect(html).toMatch(/<ol start="3">\s*<li>three<\/li>\s*<li>four<\/li>\s*<\/ol>/);
  });

  it("renders fenced code blocks with a language class, escaping their content", () => {
    const html = renderMarkdown("```typescript\nconst a = '<script>' && 1 > 0;\n```\n\nand `inline <b>`");
    expect(html).toContain('<pre><code class="language-typescript">');
    expect(html).toContain("const a = '&lt;script&gt;' &amp;&amp; 1 &gt; 0;");
    expect(html).toContain("<code>inline &lt;b&gt;</code>");
  });

  it("renders tables with column alignment", () => {
    const html = renderMarkdown("| Left | Centre | Right |\n|:-----|:------:|------:|\n| a | b | c |");
    expect(html).toContain("<table>");
    expect(html).toMatch(/<thead>\s*<tr>\s*<th style="text-align:\s*left;?">Left<\/th>/);
    expect(html).toMatch(/<th style="text-align:\s*center;?">Centre<\/th>/);
    expect(html).toMatch(/<td style="text-align:\s*right;?">c<\/td>/);
  });

  it("renders blockquotes", () => {
    expect(renderMarkdown("> quoted")).toMatch(/<blockquote>\s*<p>quoted<\/p>\s*<\/blockquote>/);
  });

  it("keeps safe https links and marks them nofollow noopener noreferrer ugc", () => {
    const html = renderMarkdown('[Agora](https://agora.example/path?a=1&b=2 "The title") and https://linkify.example/page');
    const links = scanTags(html).filter((t) => t.name === "a" && !t.closing);
    expect(links).toHaveLength(2);
    for (const link of links) {
      const attrs = Object.fromEntries(link.attributes.map((a) => [a.name, a.value]));
      expect(attrs.rel).toBe("nofollow noopener noreferrer ugc");
      expect(attrs.href).toMatch(/^https:\/\//);
    }
    expect(html).toContain('href="https://agora.example/path?a=1&amp;b=2"');
    expect(html).toContain('title="The title"');
    expect(html).toContain('href="https://linkify.example/page"');
  });

  it("renders a plain link exactly, with the fixed rel", () => {
    const html = renderMarkdown("[x](https://example.com)");
    expect(html).toBe('<p><a href="https://example.com" rel="nofollow noopener noreferrer ugc">x</a></p>\n');
  });

  it("keeps mailto links", () => {
    expect(renderMarkdown("[mail](mailto:someone@example.com)")).toContain('href="mailto:someone@example.com"');
  });

  it("keeps images with an https source, with alt and title", () => {
    const html = renderMarkdown('![A diagram](https://img.example/d.png "Diagram")');
    const img = scanTags(html).find((t) => t.name === "img");
    expect(img).toBeDefined();
    const attrs = Object.fromEntries(img!.attributes.map((a) => [a.name, a.value]));
    expect(attrs).toMatchObject({ src: "https://img.example/d.png", alt: "A diagram", title: "Diagram" });
  });

  it("renders nothing for an empty body", () => {
    expect(renderMarkdown("")).toBe("");
    expect(renderMarkdown(null)).toBe("");
    expect(renderMarkdown(undefined)).toBe("");
  });
});

describe("bodyHtml over the API", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
    await closeSqlHelpers();
  });

  it("a post with a malicious body returns inert bodyHtml while body is stored exactly as written", async () => {
    const author = await createTestUser();
    const token = server.agora.tokens.sign({ sub: author.id, sid: author.sessionId });
    const body = [
      "# Hello",
      "",
      "<script>alert('x')</script>",
      "",
      "<img src=x onerror=alert(1)> [click](javascript:alert(1)) [safe](https://example.com)",
      "",
      '<a href="JaVaScRiPt:alert(1)">raw</a> <svg onload=alert(1)> <iframe src="https://evil.example"></iframe>',
      "",
      "![pic](https://img.example/p.png) ![bad](data:image/svg+xml;base64,PHN2Zz4=)",
      "",
      "```js\nconsole.log(\"<b>\")\n```",
      "",
      "Trailing   spaces and \ttabs \u00e9\u{1F600}  ",
    ].join("\n");
    const created = await server.graphql<{ createPost: { post: { rowId: string; body: string; bodyHtml: string } } }>(
      `mutation($post: PostInput!) { createPost(input: { post: $post }) { post { rowId body bodyHtml } } }`,
      { post: { title: "Markdown safety check", body, status: "published" } },
      { token },
    );
    expect(created.errors).toBeUndefined();
    const post = created.data!.createPost.post;
    expect(post.body).toBe(body);
    expectInert(post.bodyHtml, body);
    expect(post.bodyHtml).toContain("<h1>Hello</h1>");
    expect(post.bodyHtml).toContain('<a href="https://example.com" rel="nofollow noopener noreferrer ugc">safe</a>');
    expect(post.bodyHtml).toContain('src="https://img.example/p.png"');
    expect(post.bodyHtml).toContain('<code class="language-js">');
    expect(post.bodyHtml).toContain("&lt;script&gt;");

    // Stored byte for byte, and read back the same by anyone.
    const stored = await rootDb().query<{ body: string }>("select body from app_public.posts where id = $1", [post.rowId]);
    expect(stored.rows[0].body).toBe(body);
    const anonymous = await server.graphql<{ postByRowId: { body: string; bodyHtml: string } }>(
      `query($id: UUID!) { postByRowId(rowId: $id) { body bodyHtml } }`,
      { id: post.rowId },
    );
    expect(anonymous.errors).toBeUndefined();
    expect(anonymous.data!.postByRowId.body).toBe(body);
    expect(anonymous.data!.postByRowId.bodyHtml).toBe(post.bodyHtml);
  });

  it("comments render their bodyHtml inertly too", async () => {
    const author = await createTestUser();
    const token = server.agora.tokens.sign({ sub: author.id, sid: author.sessionId });
    const client = await rootDb().connect();
    let postId: string;
    try {
      await client.query("begin");
      await client.query("set local agora.bulk_load = 'on'");
      const { rows } = await client.query<{ id: string }>(
        "insert into app_public.posts (author_id, title, body, status) values ($1, 'Comment target', 'body', 'published') returning id",
        [author.id],
      );
      postId = rows[0].id;
      await client.query("commit");
    } finally {
      client.release();
    }
    const body = "Nice! <img src=x onerror=alert(1)> [x](vbscript:msgbox(1))";
    const res = await server.graphql<{ createComment: { comment: { body: string; bodyHtml: string } } }>(
      `mutation($c: CommentInput!) { createComment(input: { comment: $c }) { comment { body bodyHtml } } }`,
      { c: { postId, body } },
      { token },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.createComment.comment.body).toBe(body);
    expectInert(res.data!.createComment.comment.bodyHtml, body);
    expect(res.data!.createComment.comment.bodyHtml).toContain("Nice!");
  });
});
