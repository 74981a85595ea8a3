-- Replace the current rows of the changed records; unchanged rows are left as they are (their
-- first _sync_id stays).
delete from buildos.{table} as c
where
    c.account_id = getvariable('account_id')
    and c.id in (select n.id from changed as n);

insert into buildos.{table} by name
select
    {columns},
    null as _removed_at
from changed;
