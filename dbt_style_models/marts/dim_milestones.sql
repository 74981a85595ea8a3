-- Milestones with the state the API shows, and whether each is missed as of the account's last
-- sync, worked out here as well: the API turns a milestone past its due_at that is neither
-- completed nor in progress into missed, but a milestone can pass its due time after the
-- sync that last fetched it.
with milestones as (
    select * from staging.stg_buildos__milestones
),

as_of as (
    select * from intermediate.int_account_as_of
),

final as (
    select
        milestones.account_id,
        milestones.milestone_id,
        milestones.project_id,
        milestones.milestone_title,
        milestones.milestone_state,
        milestones.due_at,
        cast(milestones.due_at at time zone 'UTC' as date) as due_date,
        milestones.completed_at,
        milestones.created_at,
        milestones.updated_at,
        milestones.is_deleted,
        coalesce(
            milestones.milestone_state = 'missed'
            or (
                milestones.milestone_state not in ('completed', 'in_progress')
                and milestones.due_at < as_of.as_of_at
            ),
            false
        ) as is_missed,
        cast(milestones.due_at at time zone 'UTC' as date) - as_of.as_of_date as days_until_due,
        as_of.as_of_date
    from milestones
    left join as_of on milestones.account_id = as_of.account_id
)

select * from final
