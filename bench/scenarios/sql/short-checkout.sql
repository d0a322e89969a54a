-- noisy-neighbour.ini's quiet tenant: a short checkout, a few milliseconds of server time.
\set p random(1, 2000 * :scale)
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT list_price FROM product_product WHERE id = :p;
UPDATE stock_quant SET quantity = quantity - 1 WHERE product_id = :p AND location_id = 8;
INSERT INTO pos_order (session_id, amount_total) VALUES (:client_id, 10);
COMMIT;
