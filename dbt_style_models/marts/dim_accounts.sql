-- Every synced account with a label people can tell apart: the name BuildOS shows for the
-- account's user (the most frequent author of its activity log), with the account id's first
-- 8 characters added when two accounts share a name; the id's start alone without a name.
with sync_runs as (
    select * from staging.stg_buildos__sync_runs
),

logs as (
    select * from staging.stg_buildos__logs
),

accounts as (
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

labelled as (
    select
        accounts.account_id,
        display_names.display_name,
        accounts.first_synced_at,
        accounts.last_synced_at,
        count(*) over (partition by display_names.display_name) as accounts_with_name
    from accounts
    left join display_names on accounts.account_id = display_names.account_id
),

final as (
    select
        account_id,
        case
            when display_name is null then 'account ' || left(account_id, 8)
            when accounts_with_name > 1 then display_name || ' (' || left(account_id, 8) || ')'
            else display_name
        end as account_label,
        display_name,
        first_synced_at,
        last_synced_at
    from labelled
)

select * from final
