/**
 * List filters beyond column equality, for posts and questions:
 * `condition: { tag, publishedAfter, publishedBefore }`, and the personal
 * feed `allPosts(condition: { inMyFeed: true })`: published posts by the
 * members and in the categories I follow, read from the maintained timeline
 * app_hidden.feed_entries. Each is backed by an index (GIN on tags; btree on
 * published_at; the feed's primary key).
 *
 * The feed's test names user_id, post_id and published_at: with the key
 * (user_id, published_at, post_id) unique, PostgreSQL turns the semi-join into
 * a join, and the two equalities make "posts by published_at desc, id desc"
 * the order of that key, so a page walks its rows backwards and stops after
 * `first` (no sort of the whole feed).
 */
import type { GraphQLInputType } from "postgraphile/graphql";
import { addPgTableCondition } from "postgraphile/utils";

const TABLES = ["posts", "questions"];

const FeedPlugin = addPgTableCondition(
  { schemaName: "app_public", tableName: "posts" },
  "inMyFeed",
  (build) => ({
    type: build.graphql.GraphQLBoolean,
    description: "true: only published posts by the members and in the categories I follow (my feed).",
  }),
  (value, { sql, sqlTableAlias }) =>
    value !== true
      ? null
      : sql`(${sqlTableAlias}.status = 'published' and exists (select 1 from app_hidden.feed_entries fe where fe.user_id = app_public.current_user_id() and fe.post_id = ${sqlTableAlias}.id and fe.published_at = ${sqlTableAlias}.published_at))`,
);

export const ContentFilterPlugins: GraphileConfig.Plugin[] = [FeedPlugin, ...TABLES.flatMap((tableName) => [
  addPgTableCondition(
    { schemaName: "app_public", tableName },
    "tag",
    (build) => ({ type: build.graphql.GraphQLString, description: "Only rows carrying this tag." }),
    (value, { sql, sqlTableAlias, sqlValueWithCodec, build }) =>
      value == null
        ? null
        : sql`${sqlTableAlias}.tags @> array[${sqlValueWithCodec(String(value).toLowerCase(), build.dataplanPg.TYPES.text)}]::text[]`,
  ),
  addPgTableCondition(
    { schemaName: "app_public", tableName },
    "publishedAfter",
    (build) => ({ type: build.getTypeByName("Datetime") as GraphQLInputType, description: "Published at or after this time." }),
    (value, { sql, sqlTableAlias, sqlValueWithCodec, build }) =>
      value == null ? null : sql`${sqlTableAlias}.published_at >= ${sqlValueWithCodec(value, build.dataplanPg.TYPES.timestamptz)}`,
  ),
  addPgTableCondition(
    { schemaName: "app_public", tableName },
    "publishedBefore",
    (build) => ({ type: build.getTypeByName("Datetime") as GraphQLInputType, description: "Published before this time." }),
    (value, { sql, sqlTableAlias, sqlValueWithCodec, build }) =>
      value == null ? null : sql`${sqlTableAlias}.published_at < ${sqlValueWithCodec(value, build.dataplanPg.TYPES.timestamptz)}`,
  ),
])];
