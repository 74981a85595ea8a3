-- Brain dumps per account per ISO week (Monday start), from the week of the first one to the
-- as-of week, weeks without any included as zeros. Each dump counts in the week it was
-- created, with its outcome now; latency percentiles are over the week's processed dumps.
with outcomes as (
    select * from intermediate.int_braindump_outcomes
),

as_of as (
    select * from intermediate.int_account_as_of
),

dates as (
    select * from intermediate.int_dates
),

first_weeks as (
    select
        account_id,
        min(created_week_start) as first_week_start
    from outcomes
    group by account_id
),

account_weeks as (
    select
        first_weeks.account_id,
        dates.day_date as week_start
    from first_weeks
    inner join as_of on first_weeks.account_id = as_of.account_id
    inner join dates
        on
            first_weeks.first_week_start <= dates.day_date
            and cast(date_trunc('week', as_of.as_of_date) as date) >= dates.day_date
            and dates.day_of_week = 1
),

weekly as (
    select
        account_id,
        created_week_start as week_start,
        count(*) as braindumps_created,
        count(*) filter (where is_processed) as braindumps_processed,
        count(*) filter (where is_failed) as braindumps_failed,
        count(*) filter (where is_pending) as braindumps_pending,
        -- to the millisecond: interpolation leaves float noise below that
        round(quantile_cont(latency_seconds, 0.5), 3) as latency_p50_seconds,
        round(quantile_cont(latency_seconds, 0.9), 3) as latency_p90_seconds
    from outcomes
    group by account_id, created_week_start
),

final as (
    select
        account_weeks.account_id,
        account_weeks.week_start,
        isoyear(account_weeks.week_start) as iso_year,
        weekofyear(account_weeks.week_start) as iso_week,
        coalesce(weekly.braindumps_created, 0) as braindumps_created,
        coalesce(weekly.braindumps_processed, 0) as braindumps_processed,
        coalesce(weekly.braindumps_failed, 0) as braindumps_failed,
        coalesce(weekly.braindumps_pending, 0) as braindumps_pending,
        weekly.braindumps_processed / weekly.braindumps_created as processed_rate,
        weekly.braindumps_failed / weekly.braindumps_created as failed_rate,
        weekly.latency_p50_seconds,
        weekly.latency_p90_seconds
    from account_weeks
    left join weekly
        on
            account_weeks.account_id = weekly.account_id
            and account_weeks.week_start = weekly.week_start
)

select * from final
