/**
 * The search scenario's query mix, picked from the seeded database at bench
 * start so that it follows whatever corpus the seed wrote: words are sorted
 * by how many documents of a fixed sample contain them (ts_stat), then split
 * into very common, medium and rare. Request i gets query i of a repeating
 * pattern of ten shapes: one and two words of each frequency, a prefix (what
 * a member types before finishing a word) and a typo. Deterministic: the
 * same database gives the same mix.
 */
import type pg from "pg";

export interface SearchMix {
  common: string[];
  medium: string[];
  rare: string[];
}

/** Documents in the sample ts_stat counts words over (the first by id: ids are seeded deterministically). */
const SAMPLE = 20_000;
/** Words per frequency class. */
const PER_CLASS = 40;

let mix: SearchMix | null = null;

/** Reads the word frequencies of the search table and fixes the mix for this run. */
export async function loadSearchMix(db: pg.ClientBase): Promise<SearchMix> {
  const { rows: count } = await db.query<{ n: number }>("select count(*)::int as n from (select 1 from app_private.search_entries limit 1) e");
  if (count[0].n === 0) {
    // A bulk load with triggers off (npm run seed) leaves the search table to be filled in one statement.
    await db.query("select app_private.search_rebuild()");
  }
  const { rows } = await db.query<{ word: string; ndoc: number; sample: number }>(
    `select word, ndoc, (select count(*) from (select 1 from app_private.search_entries limit ${SAMPLE}) s)::int as sample
       from ts_stat('select doc from app_private.search_entries order by id limit ${SAMPLE}')
      where word ~ '^[a-z]{4,}$'
      order by ndoc desc, word`,
  );
  if (rows.length === 0) throw new Error("The search table has no words; seed the database first");
  const sample = rows[0].sample;
  const share = (r: { ndoc: number }) => r.ndoc / sample;
  const pick = (list: typeof rows) => list.slice(0, PER_CLASS).map((r) => r.word);
  const common = pick(rows.filter((r) => share(r) >= 0.05));
  const medium = pick(rows.filter((r) => share(r) >= 0.002 && share(r) < 0.02));
  const rare = pick(rows.filter((r) => r.ndoc >= 2 && share(r) < 0.0005).reverse());
  // A small corpus may lack a class: fall back on the nearest one, so every shape still runs.
  mix = {
    common: common.length > 0 ? common : pick(rows),
    medium: medium.length > 0 ? medium : common.length > 0 ? common : pick(rows),
    rare: rare.length > 0 ? rare : medium.length > 0 ? medium : pick(rows.slice().reverse()),
  };
  return mix;
}

const at = <T>(list: T[], i: number): T => list[i % list.length];

/** Two adjacent inner letters swapped: a typo full text cannot match. */
function typo(word: string): string {
  const k = Math.max(1, Math.floor(word.length / 2) - 1);
  return word.slice(0, k) + word[k + 1] + word[k] + word.slice(k + 2);
}

/** The shape of query i is SHAPES[i % 10]: the names of searchQuery's cases, in order. */
export const SHAPES = [
  "very common word",
  "two very common words",
  "medium word",
  "medium + common",
  "rare word",
  "rare + medium",
  "prefix (unfinished word)",
  "typo",
  "common + medium",
  "two medium words",
] as const;

/** Query i of the mix (loadSearchMix must have run). */
export function searchQuery(i: number): string {
  if (!mix) throw new Error("loadSearchMix must run before the search scenario picks its queries");
  const { common, medium, rare } = mix;
  const n = Math.floor(i / 10);
  switch (i % 10) {
    case 0: return at(common, n);
    case 1: return `${at(common, n)} ${at(common, n + 7)}`; // two very common words: the case that used to take a second
    case 2: return at(medium, n);
    case 3: return `${at(medium, n)} ${at(common, n + 3)}`;
    case 4: return at(rare, n);
    case 5: return `${at(rare, n)} ${at(medium, n + 5)}`;
    case 6: return at(medium, n).slice(0, Math.max(4, at(medium, n).length - 2)); // a word not finished yet
    case 7: return typo(at(medium, n + 11));
    case 8: return `${at(common, n + 13)} ${at(medium, n + 2)}`;
    default: return `${at(medium, n + 1)} ${at(medium, n + 9)}`;
  }
}
