-- connection-storm.ini: what an Odoo worker runs right after connecting (version check,
-- then a small read), repeated while the storm lasts.
SELECT current_setting('server_version_num')::int, (SELECT count(*) FROM ir_cron WHERE active);
