-- Rows of a refetched scope that the API no longer returns: hard-deleted upstream, or
-- soft-deleted where the API hides soft-deleted rows. Marked, never dropped.
update buildos.{table} as c
set _removed_at = getvariable('synced_at')
where
    c._removed_at is null
    and c.account_id = getvariable('account_id')
    and c.{scope_column} in (select r.scope_id from refetched_scope as r)
    and c.id not in (
        select s.id
        from seen_ids as s
        where s.entity = '{table}'
    );
