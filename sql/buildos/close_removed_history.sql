-- Close the open history version of rows that were just marked removed.
update history.{table} as h
set valid_to = c._removed_at
from buildos.{table} as c
where
    h.account_id = c.account_id
    and h.id = c.id
    and h.valid_to is null
    and c.account_id = getvariable('account_id')
    and c._removed_at = getvariable('synced_at');
