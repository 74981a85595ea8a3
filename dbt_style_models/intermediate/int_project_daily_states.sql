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

spine_projects as (
    select distinct
        account_id,
        project_id
    from spine
),

project_keys as materialized (
    -- an integer key per project of the spine: the daily grouping and the running sums hash
    -- and sort it instead of two ids; a task of a project off the spine counts on no day
    select
        account_id,
        project_id,
        row_number() over () as project_key
    from spine_projects
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

segments as (
    -- the intersections of each state interval with each effort interval of the task (both
    -- cover its life from creation; a task is rarely re-estimated, so mostly one each); a task
    -- without an effort interval weighs 0. greatest() skips a null.
    select
        intervals.account_id,
        intervals.project_id,
        intervals.task_id,
        intervals.task_state,
        -- exact decimal sums: a running sum of doubles would drift
        cast(coalesce(efforts.effort_weight, 0) as decimal(18, 6)) as effort_weight,
        greatest(intervals.valid_from, efforts.valid_from) as segment_from,
        case
            when efforts.valid_to is null then intervals.valid_to
            when intervals.valid_to is null then efforts.valid_to
            else least(intervals.valid_to, efforts.valid_to)
        end as segment_to,
        -- work in progress has an age once the task has been in progress (first_started_at
        -- starts a state interval, so it is never inside a segment)
        coalesce(
            intervals.task_state in ('in_progress', 'blocked')
            and first_starts.first_started_at <= greatest(intervals.valid_from, efforts.valid_from),
            false
        ) as has_age,
        epoch_us(first_starts.first_started_at) as first_started_us
    from intervals
    left join efforts
        on
            intervals.account_id = efforts.account_id
            and intervals.task_id = efforts.task_id
            and intervals.valid_from < coalesce(efforts.valid_to, cast('infinity' as timestamptz))
            and efforts.valid_from < coalesce(intervals.valid_to, cast('infinity' as timestamptz))
    left join first_starts
        on
            intervals.account_id = first_starts.account_id
            and intervals.task_id = first_starts.task_id
),

segment_days as (
    -- the first day whose end falls inside the segment, and the first day whose end does not
    -- (null when the segment is still open at as_of_at). The UTC date is taken from the
    -- instant's microseconds since the epoch: the same date as `at time zone 'UTC'`, without a
    -- time zone calendar lookup per row (two per segment were 40% of this model)
    select
        project_keys.project_key,
        segments.task_state,
        segments.effort_weight,
        segments.has_age,
        segments.first_started_us,
        cast(make_timestamp(epoch_us(segments.segment_from)) as date) as first_day,
        case
            when segments.segment_to < as_of.as_of_at
                then cast(make_timestamp(epoch_us(segments.segment_to)) as date)
        end as end_day
    from segments
    inner join as_of on segments.account_id = as_of.account_id
    inner join project_keys
        on
            segments.account_id = project_keys.account_id
            and segments.project_id = project_keys.project_id
    where segments.segment_from < as_of.as_of_at
),

deltas as (
    select
        project_key,
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
        project_key,
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
        project_key,
        day_date,
        sum(sign) as scope_tasks,
        sum(sign * cast(task_state = 'todo' as int)) as todo_tasks,
        sum(sign * cast(task_state = 'in_progress' as int)) as in_progress_tasks,
        sum(sign * cast(task_state = 'blocked' as int)) as blocked_tasks,
        sum(sign * cast(task_state = 'done' as int)) as done_tasks,
        sum(sign * effort_weight) as scope_points,
        sum(sign * effort_weight * cast(task_state = 'done' as int)) as done_points,
        sum(sign) filter (where has_age) as aged_wip_tasks,
        sum(sign * first_started_us) filter (where has_age) as aged_wip_first_started_us
    from deltas
    group by project_key, day_date
),

spine_days as (
    select
        project_keys.project_key,
        spine.day_date
    from spine
    inner join project_keys
        on
            spine.account_id = project_keys.account_id
            and spine.project_id = project_keys.project_id
),

combined as (
    -- deltas dated before the spine's first day (a task created before its project) still
    -- count: they are summed before the spine days are kept
    select
        coalesce(spine_days.project_key, daily_deltas.project_key) as project_key,
        coalesce(spine_days.day_date, daily_deltas.day_date) as day_date,
        spine_days.day_date is not null as is_spine_day,
        daily_deltas.* exclude (project_key, day_date)
    from spine_days
    full outer join daily_deltas
        on
            spine_days.project_key = daily_deltas.project_key
            and spine_days.day_date = daily_deltas.day_date
),

running as (
    select
        project_key,
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
            partition by project_key order by day_date
            rows between unbounded preceding and current row
        )
),

final as (
    select
        project_keys.account_id,
        project_keys.project_id,
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
    inner join project_keys on running.project_key = project_keys.project_key
    inner join as_of on project_keys.account_id = as_of.account_id
    where running.is_spine_day
)

select * from final
