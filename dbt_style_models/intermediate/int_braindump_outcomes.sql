-- One row per brain dump created before the as-of time, dated by its creation (UTC day and
-- ISO week), with its outcome now and, once processed, how long processing took.
with braindumps as (
    select * from staging.stg_buildos__braindumps
),

as_of as (
    select * from intermediate.int_account_as_of
),

final as (
    select
        braindumps.account_id,
        braindumps.braindump_id,
        braindumps.braindump_status,
        braindumps.topics,
        braindumps.created_at,
        braindumps.processed_at,
        cast(braindumps.created_at at time zone 'UTC' as date) as created_date,
        cast(
            date_trunc('week', braindumps.created_at at time zone 'UTC') as date
        ) as created_week_start,
        braindumps.braindump_status = 'processed' as is_processed,
        braindumps.braindump_status = 'failed' as is_failed,
        braindumps.braindump_status in ('pending', 'processing') as is_pending,
        case
            when braindumps.braindump_status = 'processed'
                then
                    date_diff('microsecond', braindumps.created_at, braindumps.processed_at)
                    / 1000000
        end as latency_seconds
    from braindumps
    inner join as_of on braindumps.account_id = as_of.account_id
    where braindumps.created_at < as_of.as_of_at
)

select * from final
