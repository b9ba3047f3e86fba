--! Previous: sha1:96799d81186abb85246187a3d9d13eb13859a1e8
--! Hash: sha1:f5365be50c7b1cada7e01c068fe55e8b1dcd3fea
--! Message: Search candidates in table order

-- Search candidates are the first 500 matches per kind in table order; with
-- synchronized sequential scans that order would depend on other queries
-- running at the time (the same search could rank different documents).
alter function app_hidden.search_matches(text, text[], uuid[], text[], uuid, timestamptz, timestamptz, text, boolean)
  set synchronize_seqscans = off;
