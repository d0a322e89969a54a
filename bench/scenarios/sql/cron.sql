-- Odoo's cron worker: take the next due job with FOR NO KEY UPDATE SKIP LOCKED (other workers
-- skip it), run it while holding the row (200 ms of work), set its next call. A lock_timeout
-- turns a stuck lock into 55P03, which Odoo retries.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SET LOCAL lock_timeout = '2s';
UPDATE ir_cron SET lastcall = now(), nextcall = now() + interval '1 minute'
WHERE id = (SELECT id FROM ir_cron WHERE active ORDER BY nextcall LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED);
SELECT pg_sleep(0.2);
COMMIT;
