-- The daily series every burndown and flow mart reads, computed from change points rather than
-- from a task x day expansion. A task's life is cut into segments of constant state and effort
-- weight (a new segment at every state change and every re-estimate). A segment counts on each
-- UTC day whose end (midnight, or as_of_at on the as-of day) falls inside it: it adds +1 (and
-- its weight) on the UTC day it starts and -1 on the UTC day it ends, and each day's value is
-- the running sum of those deltas over the project-day spine.
with intervals as (
    select * from intermediate.int_task_state_intervals
),

efforts as (
    select * from intermediate.int_task_effort_intervals
),

spine as (
    select * from intermediate.int_project_days
),

as_of as (
    select * from intermediate.int_account_as_of
),

first_starts as (
    select
        account_id,
        task_id,
        min(valid_from) as first_started_at
    from intervals
    where task_state = 'in_progress'
    group by account_id, task_id
),

change_points as (
    -- every instant a state interval or an effort interval starts (one row per task and
    -- instant, with whichever of the two started then)
    select
        account_id,
        task_id,
        changed_at,
        any_value(project_id) as project_id,
        any_value(task_state) as task_state,
        any_value(state_valid_to) as state_valid_to,
        any_value(effort_weight) as effort_weight
    from (
        select
            account_id,
            task_id,
            project_id,
            valid_from as changed_at,
            task_state,
            coalesce(valid_to, cast('infinity' as timestamptz)) as state_valid_to,
            null as effort_weight
        from intervals
        union all
        select
            account_id,
            task_id,
            null as project_id,
            valid_from as changed_at,
            null as task_state,
            null as state_valid_to,
            effort_weight
        from efforts
    ) as interval_starts
    group by account_id, task_id, changed_at
),

carried as (
    -- the state interval and the effort weight in force at each change point
    select
        account_id,
        task_id,
        changed_at,
        last_value(project_id ignore nulls) over to_point as project_id,
        last_value(task_state ignore nulls) over to_point as task_state,
        last_value(state_valid_to ignore nulls) over to_point as state_valid_to,
        last_value(effort_weight ignore nulls) over to_point as effort_weight
    from change_points
    window
        to_point as (
            partition by account_id, task_id order by changed_at
            rows between unbounded preceding and current row
        )
),

points_in_life as (
    -- points before the first state (none: both start at creation) or after the task's
    -- deletion (the end of its last interval) are dropped
    select
        account_id,
        task_id,
        project_id,
        task_state,
        changed_at,
        nullif(state_valid_to, cast('infinity' as timestamptz)) as state_valid_to,
        coalesce(effort_weight, 0) as effort_weight
    from carried
    where task_state is not null and changed_at < state_valid_to
),

segments as (
    select
        points_in_life.account_id,
        points_in_life.project_id,
        points_in_life.task_id,
        points_in_life.task_state,
        -- exact decimal sums: a running sum of doubles would drift
        cast(points_in_life.effort_weight as decimal(18, 6)) as effort_weight,
        points_in_life.changed_at as segment_from,
        coalesce(
            lead(points_in_life.changed_at) over (
                partition by points_in_life.account_id, points_in_life.task_id
                order by points_in_life.changed_at
            ),
            points_in_life.state_valid_to
        ) as segment_to,
        -- work in progress has an age once the task has been in progress (first_started_at
        -- is itself a change point, so it is never inside a segment)
        coalesce(
            points_in_life.task_state in ('in_progress', 'blocked')
            and first_starts.first_started_at <= points_in_life.changed_at,
            false
        ) as has_age,
        epoch_us(first_starts.first_started_at) as first_started_us
    from points_in_life
    left join first_starts
        on
            points_in_life.account_id = first_starts.account_id
            and points_in_life.task_id = first_starts.task_id
),

segment_days as (
    -- the first day whose end falls inside the segment, and the first day whose end does not
    -- (null when the segment is still open at as_of_at)
    select
        segments.*,
        cast(segments.segment_from at time zone 'UTC' as date) as first_day,
        case
            when segments.segment_to < as_of.as_of_at
                then cast(segments.segment_to at time zone 'UTC' as date)
        end as end_day
    from segments
    inner join as_of on segments.account_id = as_of.account_id
    where segments.segment_from < as_of.as_of_at
),

deltas as (
    select
        account_id,
        project_id,
        first_day as day_date,
        1 as sign,
        task_state,
        effort_weight,
        has_age,
        first_started_us
    from segment_days
    where end_day is null or end_day > first_day
    union all
    select
        account_id,
        project_id,
        end_day as day_date,
        -1 as sign,
        task_state,
        effort_weight,
        has_age,
        first_started_us
    from segment_days
    where end_day > first_day
),

daily_deltas as (
    select
        account_id,
        project_id,
        day_date,
        sum(sign) as scope_tasks,
        sum(sign) filter (where task_state = 'todo') as todo_tasks,
        sum(sign) filter (where task_state = 'in_progress') as in_progress_tasks,
        sum(sign) filter (where task_state = 'blocked') as blocked_tasks,
        sum(sign) filter (where task_state = 'done') as done_tasks,
        sum(sign * effort_weight) as scope_points,
        sum(sign * effort_weight) filter (where task_state = 'done') as done_points,
        sum(sign) filter (where has_age) as aged_wip_tasks,
        sum(sign * first_started_us) filter (where has_age) as aged_wip_first_started_us
    from deltas
    group by account_id, project_id, day_date
),

combined as (
    -- deltas dated before the spine's first day (a task created before its project) still
    -- count: they are summed before the spine days are kept
    select
        coalesce(spine.account_id, daily_deltas.account_id) as account_id,
        coalesce(spine.project_id, daily_deltas.project_id) as project_id,
        coalesce(spine.day_date, daily_deltas.day_date) as day_date,
        spine.day_date is not null as is_spine_day,
        daily_deltas.* exclude (account_id, project_id, day_date)
    from spine
    full outer join daily_deltas
        on
            spine.account_id = daily_deltas.account_id
            and spine.project_id = daily_deltas.project_id
            and spine.day_date = daily_deltas.day_date
),

running as (
    select
        account_id,
        project_id,
        day_date,
        is_spine_day,
        sum(coalesce(scope_tasks, 0)) over to_date as scope_tasks,
        sum(coalesce(todo_tasks, 0)) over to_date as todo_tasks,
        sum(coalesce(in_progress_tasks, 0)) over to_date as in_progress_tasks,
        sum(coalesce(blocked_tasks, 0)) over to_date as blocked_tasks,
        sum(coalesce(done_tasks, 0)) over to_date as done_tasks,
        sum(coalesce(scope_points, 0)) over to_date as scope_points,
        sum(coalesce(done_points, 0)) over to_date as done_points,
        sum(coalesce(aged_wip_tasks, 0)) over to_date as aged_wip_tasks,
        sum(coalesce(aged_wip_first_started_us, 0)) over to_date as aged_wip_first_started_us
    from combined
    window
        to_date as (
            partition by account_id, project_id order by day_date
            rows between unbounded preceding and current row
        )
),

final as (
    select
        running.account_id,
        running.project_id,
        running.day_date,
        cast(running.scope_tasks as bigint) as scope_tasks,
        cast(running.todo_tasks as bigint) as todo_tasks,
        cast(running.in_progress_tasks as bigint) as in_progress_tasks,
        cast(running.blocked_tasks as bigint) as blocked_tasks,
        cast(running.done_tasks as bigint) as done_tasks,
        cast(running.scope_points as double) as scope_points,
        cast(running.done_points as double) as done_points,
        cast(running.aged_wip_tasks as bigint) as aged_wip_tasks,
        -- the sum of the aged WIP tasks' ages at the end of the day, in whole microseconds
        running.aged_wip_tasks
        * epoch_us(
            least(cast(running.day_date + 1 as timestamp) at time zone 'UTC', as_of.as_of_at)
        )
        - running.aged_wip_first_started_us as aged_wip_age_microseconds
    from running
    inner join as_of on running.account_id = as_of.account_id
    where running.is_spine_day
)

select * from final
