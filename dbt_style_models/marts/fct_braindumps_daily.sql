-- Brain dumps per account per UTC day, from the day of the first one to the as-of day, days
-- without any included as zeros. Each dump counts on the day it was created, with its outcome
-- now: processed, failed, or still pending (pending or processing).
with outcomes as (
    select * from intermediate.int_braindump_outcomes
),

as_of as (
    select * from intermediate.int_account_as_of
),

dates as (
    select * from intermediate.int_dates
),

first_dates as (
    select
        account_id,
        min(created_date) as first_date
    from outcomes
    group by account_id
),

account_days as (
    select
        first_dates.account_id,
        dates.day_date
    from first_dates
    inner join as_of on first_dates.account_id = as_of.account_id
    inner join dates
        on
            first_dates.first_date <= dates.day_date
            and as_of.as_of_date >= dates.day_date
),

daily as (
    select
        account_id,
        created_date as day_date,
        count(*) as braindumps_created,
        count(*) filter (where is_processed) as braindumps_processed,
        count(*) filter (where is_failed) as braindumps_failed,
        count(*) filter (where is_pending) as braindumps_pending,
        -- to the millisecond: interpolation leaves float noise below that
        round(quantile_cont(latency_seconds, 0.5), 3) as latency_p50_seconds,
        round(quantile_cont(latency_seconds, 0.9), 3) as latency_p90_seconds
    from outcomes
    group by account_id, created_date
),

final as (
    select
        account_days.account_id,
        account_days.day_date,
        coalesce(daily.braindumps_created, 0) as braindumps_created,
        coalesce(daily.braindumps_processed, 0) as braindumps_processed,
        coalesce(daily.braindumps_failed, 0) as braindumps_failed,
        coalesce(daily.braindumps_pending, 0) as braindumps_pending,
        daily.braindumps_processed / daily.braindumps_created as processed_rate,
        daily.braindumps_failed / daily.braindumps_created as failed_rate,
        daily.latency_p50_seconds,
        daily.latency_p90_seconds
    from account_days
    left join daily
        on
            account_days.account_id = daily.account_id
            and account_days.day_date = daily.day_date
)

select * from final
