/**
 * List filters beyond column equality, for posts and questions:
 * `condition: { tag, publishedAfter, publishedBefore }`, and the personal
 * feed `allPosts(condition: { inMyFeed: true })`: published posts by the
 * members and in the categories I follow (app_public.current_user_feed_post_ids).
 * Each is backed by an index (GIN on tags; btree on published_at,
 * (author_id, published_at), (category_id, published_at)).
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
      : sql`(${sqlTableAlias}.status = 'published' and ${sqlTableAlias}.id in (select id from app_public.current_user_feed_post_ids() id))`,
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
