-- The day spine of every live project: each UTC day from its creation to the as-of day.
with projects as (
    select * from staging.stg_buildos__projects
    where not is_deleted
),

as_of as (
    select * from intermediate.int_account_as_of
),

final as (
    select
        projects.account_id,
        projects.project_id,
        cast(
            unnest(generate_series(
                cast(projects.created_at at time zone 'UTC' as date),
                as_of.as_of_date,
                interval 1 day
            )) as date
        ) as day_date
    from projects
    inner join as_of on projects.account_id = as_of.account_id
)

select * from final
