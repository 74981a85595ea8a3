-- Each task's states over time, from three sources the pipeline sees. Every source yields
-- "state S held at instant t"; a task enters a state at the first instant some source shows it.
-- Precedence, when sources disagree at the same instant: an activity log (exact, written at
-- the change) > completed_at (exact, stamped by the app on the move to done) > the pipeline's
-- own history and current rows (state at the row's updated_at) > the creation default (the
-- created log's state, else todo). Intervals end at deletion.
with tasks as materialized (
    -- an integer key per task: the grouping and the two windows below sort and hash it
    -- instead of two 36-character ids
    select
        *,
        row_number() over () as task_key
    from staging.stg_buildos__tasks
),

task_logs as (
    select * from staging.stg_buildos__task_logs
),

task_history as (
    select * from staging.stg_buildos__task_history
),

created_states as (
    select
        tasks.account_id,
        tasks.task_id,
        tasks.created_at as observed_at,
        coalesce(task_logs.state_after, 'todo') as task_state,
        0 as precedence,
        'created' as evidence
    from tasks
    left join task_logs
        on
            tasks.account_id = task_logs.account_id
            and tasks.task_id = task_logs.task_id
            and task_logs.log_action = 'created'
),

row_states as (
    select
        account_id,
        task_id,
        valid_from as observed_at,
        task_state,
        1 as precedence,
        'history' as evidence
    from task_history
    union all
    select
        account_id,
        task_id,
        updated_at as observed_at,
        task_state,
        1 as precedence,
        'history' as evidence
    from tasks
    where updated_at is not null
),

completion_states as (
    select distinct
        account_id,
        task_id,
        completed_at as observed_at,
        'done' as task_state,
        2 as precedence,
        'completed_at' as evidence
    from (
        select
            account_id,
            task_id,
            completed_at
        from task_history
        union all
        select
            account_id,
            task_id,
            completed_at
        from tasks
    ) as stamps
    where completed_at is not null
),

log_states as (
    select
        account_id,
        task_id,
        logged_at as observed_at,
        state_after as task_state,
        3 as precedence,
        'log' as evidence
    from task_logs
    where log_action = 'updated' and state_after is not null
),

observations as (
    select * from created_states
    union all
    select * from row_states
    union all
    select * from completion_states
    union all
    select * from log_states
),

bounded as (
    select
        tasks.task_key,
        tasks.deleted_at,
        greatest(observations.observed_at, tasks.created_at) as observed_at,
        observations.task_state,
        observations.precedence,
        observations.evidence
    from observations
    inner join tasks
        on
            observations.account_id = tasks.account_id
            and observations.task_id = tasks.task_id
    where tasks.deleted_at is null or observations.observed_at < tasks.deleted_at
),

ranked as (
    -- one state per instant: the highest precedence, then the first state by name (an
    -- aggregate, not a window: it is the build's largest step)
    select
        task_key,
        observed_at,
        any_value(deleted_at) as deleted_at,
        min(
            struct_pack(rank := -precedence, state := task_state, evidence := evidence)
        ) as winner
    from bounded
    group by task_key, observed_at
),

winners as (
    select
        ranked.task_key,
        ranked.observed_at,
        ranked.deleted_at,
        ranked.winner.state as task_state,
        ranked.winner.evidence
    from ranked
),

with_previous as (
    select
        *,
        lag(task_state) over (partition by task_key order by observed_at) as previous_state
    from winners
),

transitions as (
    select * from with_previous
    where previous_state is null or previous_state <> task_state
),

intervals as (
    select
        task_key,
        task_state,
        observed_at as valid_from,
        coalesce(
            lead(observed_at) over (partition by task_key order by observed_at),
            deleted_at
        ) as valid_to,
        evidence
    from transitions
),

final as (
    select
        tasks.account_id,
        tasks.project_id,
        tasks.task_id,
        intervals.task_state,
        intervals.valid_from,
        intervals.valid_to,
        intervals.evidence
    from intervals
    inner join tasks on intervals.task_key = tasks.task_key
)

select * from final
