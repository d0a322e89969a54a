-- An open browser tab polling the bus for its channels (Odoo's longpolling fetch).
\set last random(0, 1000)
SELECT id, channel, message FROM bus_bus WHERE id > (SELECT coalesce(max(id), 0) - :last FROM bus_bus) AND channel IN ('pos.session.' || :client_id::text, 'broadcast') ORDER BY id LIMIT 100;
