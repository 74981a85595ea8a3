-- Every synced account: its one "as of", the one every mart, the dashboard and the CLI read
-- (the server's time at the account's last successful sync, and the last UTC day that began
-- before it), and a label people can tell apart. The label is the name BuildOS shows for the
-- account's user (the most frequent author of its activity log) followed by the first 8
-- characters of the account id, so it is unique without reading any other account's rows (an
-- account's models are built from its own data alone); without a name, the id's start alone.
with as_of as (
    select * from intermediate.int_account_as_of
),

sync_runs as (
    select * from staging.stg_buildos__sync_runs
),

logs as (
    select * from staging.stg_buildos__logs
),

synced as (
    select
        account_id,
        min(started_at) as first_synced_at,
        max(finished_at) as last_synced_at
    from sync_runs
    where sync_status = 'succeeded' and account_id is not null
    group by account_id
),

names as (
    select
        account_id,
        changed_by_name,
        count(*) as entries
    from logs
    where changed_by_name is not null and trim(changed_by_name) <> ''
    group by account_id, changed_by_name
),

display_names as (
    select
        account_id,
        first(changed_by_name order by entries desc, changed_by_name asc) as display_name
    from names
    group by account_id
),

final as (
    select
        as_of.account_id,
        as_of.as_of_at,
        as_of.as_of_date,
        case
            when display_names.display_name is null then 'account ' || left(as_of.account_id, 8)
            else display_names.display_name || ' (' || left(as_of.account_id, 8) || ')'
        end as account_label,
        display_names.display_name,
        synced.first_synced_at,
        synced.last_synced_at
    from as_of
    left join synced on as_of.account_id = synced.account_id
    left join display_names on as_of.account_id = display_names.account_id
)

select * from final
