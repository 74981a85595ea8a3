-- One row per sync run: what it fetched and how the API behaved.
create table if not exists meta.sync_runs (
    sync_id varchar primary key,
    account_id varchar,
    mode varchar not null,
    status varchar not null,
    started_at timestamptz not null,
    finished_at timestamptz,
    server_now timestamptz,
    projects_seen integer,
    projects_fetched integer,
    records_landed bigint,
    records_quarantined bigint,
    requests bigint,
    bytes bigint,
    logins integer,
    retries_rate_limited integer,
    retries_server_error integer,
    retries_timeout integer,
    retries_connection integer,
    retries_session integer,
    concurrency_backoffs integer,
    duration_seconds double,
    error varchar,
    records_repaired bigint,
    failed_units json,
    paging_stops json
);

-- Records that could not be read, with the field and the reason; the rest of the sync went on.
create table if not exists meta.quarantine (
    account_id varchar not null,
    entity varchar not null,
    record_id varchar,
    field varchar not null,
    reason varchar not null,
    payload json,
    payload_hash varchar not null,
    _synced_at timestamptz not null,
    _sync_id varchar not null,
    disposition varchar default 'rejected',
    primary key (account_id, entity, payload_hash)
);

-- Cursors and counters that must outlive Dagster (per account).
create table if not exists meta.sync_state (
    account_id varchar not null,
    state_key varchar not null,
    state_value varchar,
    updated_at timestamptz not null,
    primary key (account_id, state_key)
);

-- Rows a listing stopped showing without a confirming 404: consecutive syncs that missed them.
create table if not exists meta.absences (
    account_id varchar not null,
    entity varchar not null,
    id varchar not null,
    misses integer not null,
    updated_at timestamptz not null,
    primary key (account_id, entity, id)
);

-- Files made before the column existed.
alter table meta.sync_runs add column if not exists concurrency_backoffs integer;
alter table meta.sync_runs add column if not exists records_repaired bigint;
alter table meta.sync_runs add column if not exists failed_units json;
alter table meta.sync_runs add column if not exists paging_stops json;
alter table meta.quarantine add column if not exists disposition varchar default 'rejected';
