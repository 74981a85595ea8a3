-- The one "as of" per account that every mart, the dashboard and the CLI read: the server's
-- time at the account's last successful sync, and the last UTC day that began before it.
with as_of as (
    select * from intermediate.int_account_as_of
),

final as (
    select
        account_id,
        as_of_at,
        as_of_date
    from as_of
)

select * from final
