-- Each task's effort weight over time. A re-estimate (a new facet_scale) takes effect at the
-- updated_at of the first version the pipeline saw with it; the first scale seen holds from
-- the task's creation. The weight is the configured weight of the scale, 0 without one.
with tasks as (
    select * from staging.stg_buildos__tasks
),

task_history as (
    select * from staging.stg_buildos__task_history
),

weights as (
    select * from staging.stg_buildos__effort_weights
),

observations as (
    select
        account_id,
        task_id,
        valid_from as observed_at,
        facet_scale,
        0 as precedence
    from task_history
    union all
    select
        account_id,
        task_id,
        coalesce(updated_at, created_at) as observed_at,
        facet_scale,
        1 as precedence
    from tasks
),

winners as (
    -- the current row wins over a history version stamped at the same instant
    select * from observations
    qualify row_number() over (
        partition by account_id, task_id, observed_at
        order by precedence desc
    ) = 1
),

with_previous as (
    select
        *,
        row_number() over (
            partition by account_id, task_id order by observed_at
        ) as observation_number,
        lag(facet_scale) over (
            partition by account_id, task_id order by observed_at
        ) as previous_scale
    from winners
),

changes as (
    select
        with_previous.account_id,
        with_previous.task_id,
        tasks.project_id,
        with_previous.facet_scale,
        -- the first scale seen is taken to hold since the task was created
        case
            when with_previous.observation_number = 1 then tasks.created_at
            else greatest(with_previous.observed_at, tasks.created_at)
        end as valid_from
    from with_previous
    inner join tasks
        on
            with_previous.account_id = tasks.account_id
            and with_previous.task_id = tasks.task_id
    where
        with_previous.observation_number = 1
        or with_previous.previous_scale is distinct from with_previous.facet_scale
),

final as (
    select
        changes.account_id,
        changes.project_id,
        changes.task_id,
        changes.facet_scale,
        coalesce(weights.effort_weight, 0) as effort_weight,
        changes.valid_from,
        lead(changes.valid_from) over (
            partition by changes.account_id, changes.task_id order by changes.valid_from
        ) as valid_to
    from changes
    left join weights on changes.facet_scale = weights.facet_scale
)

select * from final
