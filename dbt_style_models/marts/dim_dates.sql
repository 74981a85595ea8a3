-- A calendar for joining and filling gaps: the models' own day spine (int_dates), from the
-- first project's creation (any account, deleted projects included) to 90 days after the
-- latest as-of day.
with dates as (
    select * from intermediate.int_dates
),

projects as (
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

final as (
    select dates.*
    from dates
    cross join first_project
    cross join last_as_of
    where
        dates.day_date >= first_project.first_date
        and dates.day_date <= last_as_of.last_date
)

select * from final
