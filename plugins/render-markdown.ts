/**
 * Markdown → sanitised HTML. Bodies are stored as written; clients ask for
 * `bodyHtml`. Two layers: markdown-it with raw HTML disabled (so tags in the
 * source are text) and its link validation, then sanitize-html with an
 * allow-list of tags, attributes and URL schemes, so nothing executable can
 * come out whatever the renderer does.
 */
import MarkdownIt from "markdown-it";
import sanitizeHtml from "sanitize-html";

const md = new MarkdownIt({ html: false, linkify: true, typographer: false });

const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: [
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code", "em", "strong", "s", "del",
    "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
  ],
  allowedAttributes: {
    a: ["href", "title", "rel"],
    img: ["src", "alt", "title"],
    code: ["class"],
    ol: ["start"],
    th: ["style"],
    td: ["style"],
  },
  allowedClasses: { code: [/^language-[a-z0-9+#-]+$/] },
  allowedStyles: { th: { "text-align": [/^(left|right|center)$/] }, td: { "text-align": [/^(left|right|center)$/] } },
  allowedSchemes: ["http", "https", "mailto"],
  allowedSchemesByTag: { img: ["http", "https"] },
  allowProtocolRelative: false,
  transformTags: {
    a: sanitizeHtml.simpleTransform("a", { rel: "nofollow noopener noreferrer ugc" }),
  },
};

/**
 * Rendered bodies, most recently used last, keyed by the markdown itself: the
 * same body is rendered once however many readers ask (a feed page read by
 * many, a live message fanned out to every member of a room). Bounded by the
 * characters held (source + HTML), so memory stays small whatever comes in.
 */
const CACHE_CHARS = 16 * 1024 * 1024;
/** Bodies longer than this are rendered every time (they would crowd out the many short ones). */
const CACHE_MAX_SOURCE = 64 * 1024;
const cache = new Map<string, string>();
let cachedChars = 0;

function render(source: string): string {
  return sanitizeHtml(md.render(source), SANITIZE);
}

export function renderMarkdown(source: string | null | undefined): string {
  if (!source) return "";
  if (source.length > CACHE_MAX_SOURCE) return render(source);
  const hit = cache.get(source);
  if (hit !== undefined) {
    cache.delete(source); // move to the most recently used end
    cache.set(source, hit);
    return hit;
  }
  const html = render(source);
  cache.set(source, html);
  cachedChars += source.length + html.length;
  for (const [oldest, oldHtml] of cache) {
    if (cachedChars <= CACHE_CHARS) break;
    cache.delete(oldest);
    cachedChars -= oldest.length + oldHtml.length;
  }
  return html;
}

/** Entries and characters held by the render cache (tests). */
export function renderCacheSize(): { entries: number; chars: number } {
  return { entries: cache.size, chars: cachedChars };
}
