/**
 * Text for the seed: sentences of words drawn from the vocabulary with a
 * Zipf distribution (rank r with probability ≈ 1 / (r · ln V), as in natural
 * language), grouped into pools of sentences and paragraphs once per seed
 * (temporary tables), from which every body is assembled set-based by
 * index lookups: posts of one to six paragraphs with headings, lists and
 * code blocks, short comments and chat messages, titles from templates that
 * read like a developer community's. Deterministic: every choice is a hash
 * of the seed ($3 in the step statements), a salt and the row number.
 */
import type pg from "pg";
import { VOCABULARY, TECH_TERMS } from "./vocabulary";

/** SQL array literal of text values. */
export function sqlArray(values: readonly string[]): string {
  return `array[${values.map((v) => `'${v.replace(/'/g, "''")}'`).join(",")}]::text[]`;
}

/** Deterministic integer in [0, mod) from the seed ($3), a salt and the SQL expression `of`. */
export const hashOf = (salt: string, of: string, mod: number | string) => `(abs(hashtext($3::text || '${salt}' || (${of}))::bigint) % ${mod})::int`;
/** Element of a SQL array chosen by a hash. */
const pick = (list: readonly string[], salt: string, of: string) => `(${sqlArray(list)})[1 + ${hashOf(salt, of, list.length)}]`;

/** Technologies as titles write them, with the tag the content carries. */
export const TECHNOLOGIES: ReadonlyArray<readonly [display: string, tag: string]> = [
  ["PostgreSQL", "postgres"], ["Postgres", "postgres"], ["Kubernetes", "kubernetes"], ["TypeScript", "typescript"], ["GraphQL", "graphql"],
  ["Rust", "rust"], ["Go", "golang"], ["Python", "python"], ["React", "react"], ["Docker", "docker"], ["Terraform", "terraform"],
  ["Kafka", "kafka"], ["Redis", "redis"], ["AWS", "aws"], ["Linux", "linux"], ["Node.js", "nodejs"], ["WebAssembly", "webassembly"],
  ["gRPC", "grpc"], ["OpenTelemetry", "opentelemetry"], ["Prometheus", "prometheus"], ["Elasticsearch", "elasticsearch"],
  ["Django", "django"], ["Rails", "rails"], ["Spring", "spring"], ["Kotlin", "kotlin"], ["Swift", "swift"], ["Flutter", "flutter"],
  ["PyTorch", "pytorch"], ["Spark", "spark"], ["Airflow", "airflow"], ["dbt", "dbt"], ["ClickHouse", "clickhouse"], ["SQLite", "sqlite"],
  ["MongoDB", "mongodb"], ["Nginx", "nginx"], ["Helm", "helm"], ["Istio", "istio"], ["OAuth", "oauth"], ["Java", "java"],
  ["Elixir", "elixir"], ["Haskell", "haskell"], ["Vue", "vue"], ["Svelte", "svelte"], ["Azure", "azure"], ["Ansible", "ansible"],
];

const TOPICS = [
  "migrations", "observability", "on-call", "code review", "caching", "testing", "onboarding", "hiring", "performance",
  "query planning", "schema design", "incident response", "technical debt", "feature flags", "rate limiting",
  "zero-downtime deploys", "connection pooling", "memory leaks", "flaky tests", "monorepos", "API design", "pagination",
  "full-text search", "background jobs", "career growth", "remote teams", "mentoring", "estimates", "documentation",
  "accessibility", "security reviews", "cloud costs", "data pipelines", "event sourcing", "retries and timeouts", "backpressure",
  "load testing", "access control", "logging", "release trains",
];
const VERBS = ["debug", "speed up", "test", "monitor", "structure", "secure", "automate", "document", "roll back", "measure", "scale", "simplify"];
export const COMPANIES = [
  "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries", "Wayne Labs", "Pied Piper", "Vandelay", "Soylent",
  "Cyberdyne", "Tyrell", "Wonka", "Aperture", "Black Mesa", "Monarch", "Massive Dynamic", "Oscorp", "Nakatomi", "Dunder Mifflin",
];
const HEADINGS = [
  "Why it matters", "Background", "What we tried", "Results", "Lessons learned", "Next steps", "The problem", "How it works",
  "Trade-offs", "Setup", "Benchmarks", "Conclusion", "Further reading", "Context", "What went wrong", "The fix",
];
const CODE = [
  "```sql\nselect id, created_at from orders where customer_id = $1 order by created_at desc limit 20;\n```",
  "```ts\nconst client = await pool.connect();\ntry {\n  await client.query(\"begin\");\n} finally {\n  client.release();\n}\n```",
  "```sh\nkubectl rollout status deployment/api -n production\n```",
  "```python\nfor batch in chunks(rows, 1000):\n    session.execute(insert(table), batch)\n```",
  "```go\nctx, cancel := context.WithTimeout(ctx, 2*time.Second)\ndefer cancel()\n```",
  "```yaml\nresources:\n  limits:\n    memory: 512Mi\n```",
  "```rust\nlet handle = tokio::spawn(async move { worker.run().await });\n```",
  "```sql\nexplain (analyze, buffers) select count(*) from events where created_at > now() - interval '1 day';\n```",
];
const SHORT_REPLIES = ["Thanks!", "+1", "Agreed.", "Looking into it.", "LGTM", "Nice work!", "Same here.", "Good catch.", "On it.", "Makes sense."];

/** The three templates' slots: a technology, a second one, a topic, a verb, a company. */
function slots(salt: string, of: string) {
  const t = (n: string) => `(${sqlArray(TECHNOLOGIES.map((x) => x[0]))})[1 + ${hashOf(salt + n, of, TECHNOLOGIES.length)}]`;
  return { T: t("t1"), T2: t("t2"), N: pick(TOPICS, salt + "n", of), V: pick(VERBS, salt + "v", of), C: pick(COMPANIES, salt + "c", of) };
}

/** Fills one of the templates (chosen by a hash) with its slots; a template is a list of literal parts and slot names. */
function template(salt: string, of: string, templates: string[]): string {
  const s = slots(salt, of);
  const filled = templates.map((tpl) => {
    const parts = tpl.split(/(\{T2?\}|\{N\}|\{V\}|\{C\})/).filter((p) => p !== "");
    return parts.map((p) => (p.startsWith("{") ? s[p.slice(1, -1) as keyof typeof s] : `'${p.replace(/'/g, "''")}'`)).join(" || ");
  });
  const expr = `(case ${hashOf(salt + "tp", of, templates.length)} ${filled.map((f, i) => `when ${i} then ${f}`).join(" ")} end)`;
  return `(upper(left(${expr}, 1)) || substr(${expr}, 2))`;
}

export const postTitle = (of: string) =>
  template("pt", of, [
    "{T} in production: what we learned about {N}", "How we cut {N} time in half with {T}", "A practical guide to {N} with {T}",
    "Why {N} matters more than you think", "{T} vs {T2} for {N}", "Five mistakes we made with {N}", "Notes on {N} after a year of {T}",
    "Debugging {N} in {T}", "What I wish I knew about {N} before {T}", "{T} and {N}, explained", "Scaling {N} with {T} at {C}",
    "The hidden cost of {N}", "From {T} to {T2}: a migration story", "Getting started with {T}", "Rethinking {N} on a small team",
    "{N}: a checklist for {T} teams",
  ]);
export const questionTitle = (of: string) =>
  template("qt", of, [
    "How do I {V} {N} in {T}?", "Why is {N} slow with {T}?", "What is the best way to handle {N} in {T}?", "Is {T} a good fit for {N}?",
    "{T} or {T2} for {N}?", "How should a small team approach {N}?", "Any advice on {N} when moving to {T}?",
    "Why does {T} fail under load when {N} is on?", "How do you {V} {T} services?",
  ]);
export const jobTitle = (of: string) =>
  template("jt", of, [
    "Senior {T} Engineer", "{T} Developer", "Staff Engineer, {N}", "Backend Engineer ({T})", "Platform Engineer, {T} and {T2}",
    "Engineering Manager, {N}", "Junior {T} Developer", "Site Reliability Engineer ({T})", "Principal Engineer, {N}", "Data Engineer ({T})",
  ]);
export const roomName = (of: string) => template("rn", of, ["{T}", "{T} help", "{N}", "{T} and {T2}", "{N} at {C}", "{T} meetup"]);

/** Tags: one to three technologies' tags, lower-case, sorted, distinct (as the tags trigger would store them). */
export function tags(salt: string, of: string, max = 3): string {
  const list = sqlArray([...new Set(TECHNOLOGIES.map((x) => x[1]))]);
  const one = (n: number) => `(${list})[1 + ${hashOf(`${salt}${n}`, of, `cardinality(${list})`)}]`;
  const items = Array.from({ length: max }, (_, n) => `case when ${n} <= ${hashOf(salt + "k", of, max)} then ${one(n)} end`);
  return `array(select distinct t from unnest(array[${items.join(", ")}]) t where t is not null order by t)`;
}

// The pool sizes as uncorrelated subqueries: computed once per statement (an InitPlan).
const sentence = (salt: string, of: string) => `(select s from seed_sentences where n = 1 + ${hashOf(salt, of, "(select max(n) from seed_sentences)")})`;
const paragraph = (salt: string, of: string) => `(select p from seed_paragraphs where n = 1 + ${hashOf(salt, of, "(select max(n) from seed_paragraphs)")})`;

/**
 * Markdown of one to six paragraphs (skewed towards few: a paragraph count
 * k has probability ln((k+1)/k) / ln 7), with a heading in a third of the
 * documents, a list in a quarter and a code block in a sixth.
 */
export function longBody(salt: string, of: string, maxParagraphs = 6): string {
  // Divided as float8: the same quotient as numeric division (both give the double nearest x / 10⁶) without
  // numeric arithmetic, ≈ 0.7 µs per use, and the count is used once per paragraph slot of every document.
  const count = `(floor(exp((${hashOf(salt + "np", of, 1_000_000)} / 1e6::float8) * ln(${maxParagraphs + 1})))::int)`;
  const at = (k: number) => `case when ${count} >= ${k} then ${paragraph(`${salt}p${k}`, of)} end`;
  const list = `case when ${hashOf(salt + "ls", of, 4)} = 0 then '- ' || ${sentence(salt + "l1", of)} || E'\\n- ' || ${sentence(salt + "l2", of)} || E'\\n- ' || ${sentence(salt + "l3", of)} end`;
  const parts = [
    at(1),
    `case when ${hashOf(salt + "hd", of, 3)} = 0 then '## ' || ${pick(HEADINGS, salt + "hn", of)} end`,
    ...(maxParagraphs >= 2 ? [at(2)] : []),
    list,
    `case when ${hashOf(salt + "cd", of, 6)} = 0 then ${pick(CODE, salt + "cc", of)} end`,
    ...Array.from({ length: Math.max(0, maxParagraphs - 2) }, (_, k) => at(k + 3)),
  ];
  return `concat_ws(E'\\n\\n', ${parts.join(",\n      ")})`;
}

/** One to three sentences (a comment). */
export function shortBody(salt: string, of: string): string {
  const n = hashOf(salt + "ns", of, 6);
  return `concat_ws(' ', ${sentence(salt + "s1", of)}, case when ${n} >= 3 then ${sentence(salt + "s2", of)} end, case when ${n} >= 5 then ${sentence(salt + "s3", of)} end)`;
}

/** A chat message: a short reply in a fifth of them, otherwise one or two sentences. */
export function chatBody(salt: string, of: string): string {
  return `case when ${hashOf(salt + "sr", of, 5)} = 0 then ${pick(SHORT_REPLIES, salt + "rp", of)}
               when ${hashOf(salt + "two", of, 4)} = 0 then ${sentence(salt + "a", of)} || ' ' || ${sentence(salt + "b", of)}
               else ${sentence(salt + "a", of)} end`;
}

/** One sentence (a bio, a cover letter's opening). */
export const oneSentence = sentence;

export interface CorpusSize {
  sentences: number;
  paragraphs: number;
}

/** Pool sizes: large enough that documents rarely share text at the scale seeded. */
export function corpusSize(documents: number): CorpusSize {
  const sentences = Math.min(400_000, Math.max(5_000, Math.round(documents / 4)));
  return { sentences, paragraphs: Math.min(200_000, Math.max(2_000, Math.round(sentences / 2))) };
}

/**
 * Creates the temporary tables seed_words (rank, word), seed_sentences and
 * seed_paragraphs, dropped at commit.
 */
export async function prepareCorpus(db: pg.PoolClient, seed: number, size: CorpusSize): Promise<void> {
  const tech = new Set(TECH_TERMS);
  await db.query(
    `create temporary table seed_words on commit drop as
     select rank::int, word, word = any($2::text[]) as tech from unnest($1::text[]) with ordinality as w(word, rank)`,
    [VOCABULARY, [...tech]],
  );
  await db.query("alter table seed_words add primary key (rank)");
  const v = VOCABULARY.length;
  // Word j of sentence n: rank floor((V + 1)^u) for u uniform in [0, 1) — P(rank r) = ln((r + 1) / r) / ln(V + 1).
  await db.query(
    `create temporary table seed_sentences on commit drop as
     select n, upper(left(s, 1)) || substr(s, 2) || case when abs(hashtext($1::text || 'se' || n)) % 12 = 0 then '?' else '.' end as s
       from (select n, string_agg(
                      case when w.tech and abs(hashtext($1::text || 'bt' || n || ':' || j)) % 6 = 0 then '\`' || w.word || '\`' else w.word end
                      || case when j < len and abs(hashtext($1::text || 'cm' || n || ':' || j)) % 11 = 0 then ',' else '' end,
                      ' ' order by j) as s
               from generate_series(1, $2::int) n
               cross join lateral (select 4 + abs(hashtext($1::text || 'sl' || n)) % 15 as len) l
               cross join lateral generate_series(1, l.len) j
               join seed_words w on w.rank = least(${v}, floor(exp((abs(hashtext($1::text || 'wd' || n || ':' || j))::float8 / 2147483648.0) * ln(${v + 1})))::int)
              group by n) t`,
    [String(seed), size.sentences],
  );
  await db.query("alter table seed_sentences add primary key (n)");
  await db.query(
    `create temporary table seed_paragraphs on commit drop as
     select g.n, string_agg(s.s, ' ' order by k) as p
       from generate_series(1, $2::int) g(n)
       cross join lateral generate_series(1, 1 + abs(hashtext($1::text || 'pl' || g.n)) % 5) k
       join seed_sentences s on s.n = 1 + abs(hashtext($1::text || 'ps' || g.n || ':' || k)) % $3::int
      group by g.n`,
    [String(seed), size.paragraphs, size.sentences],
  );
  await db.query("alter table seed_paragraphs add primary key (n)");
  await db.query("analyze seed_words, seed_sentences, seed_paragraphs");
}
