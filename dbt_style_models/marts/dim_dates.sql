-- A calendar for joining and filling gaps: every UTC day from the first project's creation
-- (any account, deleted projects included) to 90 days after the latest as-of day.
with projects as (
    select * from staging.stg_buildos__projects
),

as_of as (
    select * from intermediate.int_account_as_of
),

first_project as (
    select min(cast(created_at at time zone 'UTC' as date)) as first_date
    from projects
),

last_as_of as (
    select max(as_of_date) + 90 as last_date
    from as_of
),

bounds as (
    select
        first_project.first_date,
        last_as_of.last_date
    from first_project
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
