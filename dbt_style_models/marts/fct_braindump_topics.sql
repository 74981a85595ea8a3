-- The topics brain dumps were tagged with, per account: how many dumps carry each topic, when
-- it was first and last seen, and its share of all the account's dumps. Topics are compared
-- trimmed and lowercased; a dump that lists a topic twice counts once.
with outcomes as (
    select * from intermediate.int_braindump_outcomes
),

dump_totals as (
    select
        account_id,
        count(*) as account_braindumps
    from outcomes
    group by account_id
),

topic_mentions as (
    select distinct
        account_id,
        braindump_id,
        created_at,
        lower(trim(unnest(json_extract_string(topics, '$[*]')))) as topic
    from outcomes
),

topics as (
    select
        account_id,
        topic,
        count(*) as braindumps,
        min(created_at) as first_seen_at,
        max(created_at) as last_seen_at
    from topic_mentions
    where topic is not null and topic <> ''
    group by account_id, topic
),

final as (
    select
        topics.account_id,
        topics.topic,
        topics.braindumps,
        topics.first_seen_at,
        topics.last_seen_at,
        topics.braindumps / dump_totals.account_braindumps as share_of_braindumps
    from topics
    inner join dump_totals on topics.account_id = dump_totals.account_id
)

select * from final
