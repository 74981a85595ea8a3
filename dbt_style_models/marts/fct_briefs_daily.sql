-- Daily briefs per account per day, from the first brief's date to the as-of day, days without
-- a brief included. A streak is a run of consecutive days each with a completed brief; a day
-- without one (no brief, failed, or still generating) ends it.
with briefs as (
    select * from staging.stg_buildos__briefs
),

as_of as (
    select * from intermediate.int_account_as_of
),

dates as (
    select * from intermediate.int_dates
),

dated_briefs as (
    select
        briefs.account_id,
        briefs.brief_id,
        briefs.brief_date,
        briefs.generation_status,
        briefs.generation_started_at,
        briefs.generation_completed_at
    from briefs
    inner join as_of on briefs.account_id = as_of.account_id
    where briefs.brief_date <= as_of.as_of_date
),

first_dates as (
    select
        account_id,
        min(brief_date) as first_date
    from dated_briefs
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

joined as (
    select
        account_days.account_id,
        account_days.day_date,
        dated_briefs.brief_id,
        dated_briefs.generation_status,
        dated_briefs.brief_id is not null as has_brief,
        coalesce(dated_briefs.generation_status = 'completed', false) as is_generated,
        coalesce(dated_briefs.generation_status = 'failed', false) as is_failed,
        case
            when dated_briefs.generation_status = 'completed'
                then
                    date_diff(
                        'microsecond',
                        dated_briefs.generation_started_at,
                        dated_briefs.generation_completed_at
                    )
                    / 1000000
        end as generation_seconds
    from account_days
    left join dated_briefs
        on
            account_days.account_id = dated_briefs.account_id
            and account_days.day_date = dated_briefs.brief_date
),

streak_groups as (
    select
        *,
        -- every day without a completed brief starts a new group
        count(*) filter (where not is_generated) over (
            partition by account_id order by day_date
            rows between unbounded preceding and current row
        ) as streak_group
    from joined
),

final as (
    select
        account_id,
        day_date,
        brief_id,
        generation_status,
        has_brief,
        is_generated,
        is_failed,
        generation_seconds,
        count(*) filter (where is_generated) over (
            partition by account_id, streak_group order by day_date
            rows between unbounded preceding and current row
        ) as current_streak_days
    from streak_groups
)

select * from final
