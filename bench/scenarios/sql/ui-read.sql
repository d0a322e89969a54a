-- A user clicking around the back office: a name_search on partners, a list view of their sale
-- orders with a count, and a form read. Read-only, REPEATABLE READ like every Odoo request.
\set partner random(1, 10000 * :scale)
\set prefix random(1, 999)
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT id, name FROM res_partner WHERE active AND name LIKE 'Partner ' || :prefix || '%' ORDER BY name LIMIT 8;
SELECT id, name, state, amount_total, date_order FROM sale_order WHERE partner_id = :partner ORDER BY date_order DESC LIMIT 80;
SELECT count(*) FROM sale_order WHERE partner_id = :partner;
SELECT id, name, email, company_id, write_date FROM res_partner WHERE id = :partner;
COMMIT;
