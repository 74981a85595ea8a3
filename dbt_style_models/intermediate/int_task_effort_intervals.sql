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

scale_counts as (
    -- most tasks are never re-estimated: they need no ordering of their versions
    -- (more than one scale when the least and the greatest differ: one aggregate pass, where a
    -- count of distinct scales took three)
    select
        account_id,
        task_id,
        case
            when min(coalesce(facet_scale, '')) = max(coalesce(facet_scale, '')) then 1 else 2
        end as scales,
        any_value(facet_scale) as facet_scale
    from observations
    group by account_id, task_id
),

rescaled as (
    select observations.*
    from observations
    semi join scale_counts
        on
            observations.account_id = scale_counts.account_id
            and observations.task_id = scale_counts.task_id
            and scale_counts.scales > 1
),

winners as (
    -- the current row wins over a history version stamped at the same instant
    select * from rescaled
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

steady as (
    select
        scale_counts.account_id,
        scale_counts.task_id,
        tasks.project_id,
        scale_counts.facet_scale,
        tasks.created_at as valid_from
    from scale_counts
    inner join tasks
        on
            scale_counts.account_id = tasks.account_id
            and scale_counts.task_id = tasks.task_id
    where scale_counts.scales = 1
),

all_intervals as (
    select
        account_id,
        task_id,
        project_id,
        facet_scale,
        valid_from,
        lead(valid_from) over (
            partition by account_id, task_id order by valid_from
        ) as valid_to
    from changes
    union all
    select
        account_id,
        task_id,
        project_id,
        facet_scale,
        valid_from,
        null as valid_to
    from steady
),

final as (
    select
        all_intervals.account_id,
        all_intervals.project_id,
        all_intervals.task_id,
        all_intervals.facet_scale,
        coalesce(weights.effort_weight, 0) as effort_weight,
        all_intervals.valid_from,
        all_intervals.valid_to
    from all_intervals
    left join weights on all_intervals.facet_scale = weights.facet_scale
)

select * from final
