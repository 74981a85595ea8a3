-- The one day spine: every UTC day from the Monday of the week in which any account's data
-- starts (the first project, brain dump or brief, deleted projects included) to 90 days after
-- the latest as-of day. Starting on a Monday keeps every ISO week whole, so weekly spines are
-- its Mondays.
with projects as (
    select * from staging.stg_buildos__projects
),

braindumps as (
    select * from staging.stg_buildos__braindumps
),

briefs as (
    select * from staging.stg_buildos__briefs
),

as_of as (
    select * from intermediate.int_account_as_of
),

first_days as (
    select cast(created_at at time zone 'UTC' as date) as first_date
    from projects
    union all
    select cast(created_at at time zone 'UTC' as date) as first_date
    from braindumps
    union all
    select brief_date as first_date
    from briefs
),

first_week as (
    select cast(date_trunc('week', min(first_date)) as date) as first_date
    from first_days
),

last_as_of as (
    select max(as_of_date) + 90 as last_date
    from as_of
),

bounds as (
    select
        first_week.first_date,
        last_as_of.last_date
    from first_week
    cross join last_as_of
),

days as (
    select cast(unnest(generate_series(first_date, last_date, interval 1 day)) as date) as day_date
    from bounds
    where first_date is not null and last_date is not null
),

final as (
    select
        day_date,
        isoyear(day_date) as iso_year,
        weekofyear(day_date) as iso_week,
        cast(date_trunc('week', day_date) as date) as week_start,
        cast(date_trunc('month', day_date) as date) as month_start,
        isodow(day_date) as day_of_week,
        isodow(day_date) in (6, 7) as is_weekend
    from days
)

select * from final
