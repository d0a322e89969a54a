-- An integration importing a batch: 500 partners upserted in one transaction, then their
-- sale orders, as a connector or a CSV import does.
\set base random(1, 1000000)
BEGIN ISOLATION LEVEL REPEATABLE READ;
INSERT INTO res_partner (name, email, company_id)
SELECT 'Imported ' || (:base + g), 'import' || (:base + g) || '@example.com', 2
FROM generate_series(1, 500) g;
INSERT INTO sale_order (name, partner_id, state, amount_total, date_order)
SELECT 'IMP' || (:base + g), 1 + (:base + g) % (10000 * :scale), 'draft', g, now()
FROM generate_series(1, 500) g;
COMMIT;
