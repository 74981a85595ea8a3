-- The day spine of every live project: each UTC day from its creation to the as-of day.
with projects as (
    select * from staging.stg_buildos__projects
    where not is_deleted
),

as_of as (
    select * from intermediate.int_account_as_of
),

dates as (
    select * from intermediate.int_dates
),

final as (
    select
        projects.account_id,
        projects.project_id,
        dates.day_date
    from projects
    inner join as_of on projects.account_id = as_of.account_id
    inner join dates
        on
            cast(projects.created_at at time zone 'UTC' as date) <= dates.day_date
            and as_of.as_of_date >= dates.day_date
)

select * from final
