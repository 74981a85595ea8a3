-- Rows of a refetched scope that the API no longer returns: hard-deleted upstream, or
-- soft-deleted where the API hides soft-deleted rows. Marked, never dropped.
update buildos.{table} as c
set _removed_at = (select ctx.synced_at from sync_context as ctx)
where
    c._removed_at is null
    and c.account_id = (select ctx.account_id from sync_context as ctx)
    and c.{scope_column} in (select scope_id from refetched_scope)
    and c.id not in (
        select s.id
        from seen_ids as s
        where s.entity = '{table}'
    );
