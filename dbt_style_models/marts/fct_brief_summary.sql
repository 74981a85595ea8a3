-- Daily briefs per account, as of the as-of day: how many, how many generated or failed, the
-- success rate of finished generations, and the longest and current streaks of consecutive
-- days with a completed brief. The streak still counts as current when it ended the day
-- before the as-of day, because the as-of day's brief may not have been generated yet.
with as_of as (
    select * from intermediate.int_account_as_of
),

brief_days as (
    select * from marts.fct_briefs_daily
),

totals as (
    select
        account_id,
        count(*) filter (where has_brief) as briefs,
        count(*) filter (where is_generated) as briefs_completed,
        count(*) filter (where is_failed) as briefs_failed,
        max(current_streak_days) as longest_streak_days
    from brief_days
    group by account_id
),

recent_streaks as (
    select
        brief_days.account_id,
        max(brief_days.current_streak_days) filter (
            where brief_days.day_date = as_of.as_of_date
        ) as streak_on_as_of_date,
        max(brief_days.current_streak_days) filter (
            where brief_days.day_date = as_of.as_of_date - 1
        ) as streak_on_day_before
    from brief_days
    inner join as_of on brief_days.account_id = as_of.account_id
    group by brief_days.account_id
),

final as (
    select
        as_of.account_id,
        as_of.as_of_date,
        coalesce(totals.briefs, 0) as briefs,
        coalesce(totals.briefs_completed, 0) as briefs_completed,
        coalesce(totals.briefs_failed, 0) as briefs_failed,
        totals.briefs_completed
        / nullif(totals.briefs_completed + totals.briefs_failed, 0) as success_rate,
        coalesce(totals.longest_streak_days, 0) as longest_streak_days,
        coalesce(
            nullif(recent_streaks.streak_on_as_of_date, 0),
            recent_streaks.streak_on_day_before,
            0
        ) as current_streak_days
    from as_of
    left join totals on as_of.account_id = totals.account_id
    left join recent_streaks on as_of.account_id = recent_streaks.account_id
)

select * from final
