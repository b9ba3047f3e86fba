/**
 * The preview fields of an HTML page: og:title / og:description / og:image /
 * og:site_name, falling back to <title> and the description meta tag. Reads
 * only <meta> tags and <title> (comments, scripts and styles skipped), so a
 * small tolerant scanner does; no DOM is built.
 */
export interface PreviewFields {
  title: string | null;
  description: string | null;
  imageUrl: string | null;
  siteName: string | null;
}

const LIMITS = { title: 300, description: 1000, siteName: 200, imageUrl: 2048 };

/** The named entities pages use in titles and descriptions (numeric references cover the rest). */
const NAMED: Record<string, string> = {
  amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " ", copy: "©", reg: "®", trade: "™", euro: "€",
  hellip: "…", mdash: "—", ndash: "–", laquo: "«", raquo: "»", lsquo: "‘", rsquo: "’", ldquo: "“", rdquo: "”",
  aacute: "á", agrave: "à", acirc: "â", auml: "ä", eacute: "é", egrave: "è", ecirc: "ê", iacute: "í", oacute: "ó",
  ouml: "ö", uacute: "ú", uuml: "ü", ccedil: "ç", ntilde: "ñ", szlig: "ß",
};

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, entity: string) => {
    if (entity[0] === "#") {
      const code = entity[1] === "x" || entity[1] === "X" ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : "";
    }
    return NAMED[entity] ?? NAMED[entity.toLowerCase()] ?? whole;
  });
}

function clean(value: string | undefined, max: number): string | null {
  if (value === undefined) return null;
  // Control characters out, whitespace collapsed, cut at a character boundary.
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  const text = decodeEntities(value).replace(/[\u0000-\u001f\u007f]/g, " ").replace(/\s+/g, " ").trim();
  return text === "" ? null : Array.from(text).slice(0, max).join("");
}

function attributes(tag: string): Record<string, string> {
  const result: Record<string, string> = {};
  const re = /([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(tag))) {
    const name = m[1].toLowerCase();
    if (!(name in result)) result[name] = m[2] ?? m[3] ?? m[4] ?? "";
  }
  return result;
}

/** An absolute http(s) URL for an image reference, or null. */
function absoluteHttpUrl(value: string | null, base: string): string | null {
  if (!value) return null;
  try {
    const url = new URL(value, base);
    return (url.protocol === "http:" || url.protocol === "https:") && url.href.length <= LIMITS.imageUrl ? url.href : null;
  } catch {
    return null;
  }
}

export function parsePreview(html: string, pageUrl: string): PreviewFields {
  const text = html.replace(/<!--[\s\S]*?(?:-->|$)/g, "").replace(/<(script|style|noscript)\b[\s\S]*?(?:<\/\1\s*>|$)/gi, "");
  const meta: Record<string, string> = {};
  for (const m of text.matchAll(/<meta\b([^>]*)>/gi)) {
    const a = attributes(m[1]);
    const key = (a.property ?? a.name ?? "").toLowerCase();
    if (key && a.content !== undefined && !(key in meta)) meta[key] = a.content;
  }
  const title = /<title\b[^>]*>([\s\S]*?)<\/title\s*>/i.exec(text)?.[1];
  return {
    title: clean(meta["og:title"], LIMITS.title) ?? clean(title, LIMITS.title),
    description: clean(meta["og:description"], LIMITS.description) ?? clean(meta["description"], LIMITS.description),
    imageUrl: absoluteHttpUrl(clean(meta["og:image"] ?? meta["og:image:url"], LIMITS.imageUrl), pageUrl),
    siteName: clean(meta["og:site_name"], LIMITS.siteName),
  };
}

/** The charset a Content-Type header or an early <meta charset> names, else utf-8. */
export function sniffCharset(contentType: string, head: Buffer): string {
  const fromHeader = /charset\s*=\s*"?([\w.:-]+)/i.exec(contentType)?.[1];
  if (fromHeader) return fromHeader;
  const early = head.subarray(0, 2048).toString("latin1");
  return /<meta[^>]+charset\s*=\s*["']?([\w.:-]+)/i.exec(early)?.[1] ?? "utf-8";
}

export function decodeBody(body: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset).decode(body);
  } catch {
    return new TextDecoder("utf-8").decode(body);
  }
}
