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
        account_id,
        project_id,
        task_id,
        task_state,
        completed_at,
        created_at,
        updated_at,
        deleted_at,
        row_number() over () as task_key
    from staging.stg_buildos__tasks
),

task_logs as (
    select * from staging.stg_buildos__task_logs
),

task_history as (
    select * from staging.stg_buildos__task_history
),

keyed_logs as materialized (
    -- the logs that carry a state, on the task's key (the string ids are joined once here)
    select
        tasks.task_key,
        task_logs.log_action,
        task_logs.logged_at,
        task_logs.state_after
    from task_logs
    inner join tasks
        on
            task_logs.account_id = tasks.account_id
            and task_logs.task_id = tasks.task_id
    where task_logs.log_action in ('created', 'updated')
),

keyed_history as (
    select
        tasks.task_key,
        task_history.valid_from,
        task_history.task_state,
        task_history.completed_at
    from task_history
    inner join tasks
        on
            task_history.account_id = tasks.account_id
            and task_history.task_id = tasks.task_id
),

created_states as (
    select
        tasks.task_key,
        tasks.created_at as observed_at,
        coalesce(keyed_logs.state_after, 'todo') as task_state,
        0 as precedence
    from tasks
    left join keyed_logs
        on
            tasks.task_key = keyed_logs.task_key
            and keyed_logs.log_action = 'created'
),

row_states as (
    select
        task_key,
        valid_from as observed_at,
        task_state,
        1 as precedence
    from keyed_history
    union all
    select
        task_key,
        updated_at as observed_at,
        task_state,
        1 as precedence
    from tasks
    where updated_at is not null
),

completion_states as (
    -- a stamp seen in both the history and the current row is two equal observations: the
    -- one-state-per-instant aggregate below keeps one
    select
        task_key,
        completed_at as observed_at,
        'done' as task_state,
        2 as precedence
    from keyed_history
    where completed_at is not null
    union all
    select
        task_key,
        completed_at as observed_at,
        'done' as task_state,
        2 as precedence
    from tasks
    where completed_at is not null
),

log_states as (
    select
        task_key,
        logged_at as observed_at,
        state_after as task_state,
        3 as precedence
    from keyed_logs
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

state_codes as (
    -- every state an observation can hold, numbered by name: the aggregate and the windows
    -- below compare integers, not names (a state is never null: the landing requires it)
    select
        task_state,
        row_number() over (order by task_state) as state_code
    from (
        select task_state from tasks
        union
        select task_state from keyed_history
        union
        select state_after from keyed_logs
        union
        select unnest(['todo', 'done'])
    ) as state_names
    where task_state is not null
),

bounded as (
    select
        observations.task_key,
        greatest(observations.observed_at, tasks.created_at) as observed_at,
        observations.precedence,
        state_codes.state_code
    from observations
    inner join tasks on observations.task_key = tasks.task_key
    inner join state_codes on observations.task_state = state_codes.task_state
    where tasks.deleted_at is null or observations.observed_at < tasks.deleted_at
),

ranked as (
    -- one state per instant: the highest precedence, then the first state by name, as the
    -- smallest of one integer per observation (an aggregate, not a window: it is the build's
    -- largest step)
    select
        task_key,
        observed_at,
        min((3 - precedence) * 4294967296 + state_code) as winner
    from bounded
    group by task_key, observed_at
),

winners as (
    select
        ranked.task_key,
        ranked.observed_at,
        state_codes.state_code,
        state_codes.task_state,
        case 3 - ranked.winner // 4294967296
            when 0 then 'created'
            when 1 then 'history'
            when 2 then 'completed_at'
            when 3 then 'log'
        end as evidence
    from ranked
    inner join state_codes on ranked.winner % 4294967296 = state_codes.state_code
),

with_previous as (
    select
        task_key,
        observed_at,
        state_code,
        evidence,
        lag(state_code) over (partition by task_key order by observed_at) as previous_state_code
    from winners
),

transitions as (
    select * from with_previous
    where previous_state_code is null or previous_state_code <> state_code
),

intervals as (
    select
        task_key,
        state_code,
        observed_at as valid_from,
        lead(observed_at) over (partition by task_key order by observed_at) as next_from,
        evidence
    from transitions
),

final as (
    select
        tasks.account_id,
        tasks.project_id,
        tasks.task_id,
        state_codes.task_state,
        intervals.valid_from,
        coalesce(intervals.next_from, tasks.deleted_at) as valid_to,
        intervals.evidence
    from intervals
    inner join tasks on intervals.task_key = tasks.task_key
    inner join state_codes on intervals.state_code = state_codes.state_code
)

select * from final
