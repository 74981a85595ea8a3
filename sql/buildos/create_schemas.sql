-- The landing zones of a sync: raw payloads, current state, the pipeline's own history,
-- and the sync's bookkeeping.
create schema if not exists raw;
create schema if not exists buildos;
create schema if not exists history;
create schema if not exists meta;
