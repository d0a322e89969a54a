-- POS checkout: a short write transaction at REPEATABLE READ (as Odoo runs every request),
-- decrementing stock of mostly best-selling products (hot rows: concurrent checkouts of the same
-- product fail with 40001 and are retried) and writing the order, its lines and a bus message.
\set p1 random_exponential(1, 2000 * :scale, 40.0)
\set p2 random_exponential(1, 2000 * :scale, 40.0)
\set partner random(1, 10000 * :scale)
\set qty random(1, 3)
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT id, list_price FROM product_product WHERE id IN (:p1::int, :p2::int);
UPDATE stock_quant SET quantity = quantity - :qty, write_date = now() WHERE product_id = :p1 AND location_id = 8;
UPDATE stock_quant SET quantity = quantity - 1, write_date = now() WHERE product_id = :p2 AND location_id = 8;
WITH o AS (
    INSERT INTO pos_order (partner_id, session_id, amount_total) VALUES (:partner::int, :client_id::int, :qty::int * 10 + 10)
    RETURNING id
)
INSERT INTO pos_order_line (order_id, product_id, qty, price_unit)
SELECT o.id, p.id, q.qty, 10 FROM o, (VALUES (:p1::int, :qty::int), (:p2::int, 1)) AS q (pid, qty)
JOIN product_product p ON p.id = q.pid;
INSERT INTO bus_bus (channel, message) VALUES ('pos.session.' || :client_id::text, '{"type": "order_paid"}');
COMMIT;
