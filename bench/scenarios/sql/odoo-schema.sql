-- An Odoo-shaped schema for sluice-bench scenarios: the tables behind checkout/POS, UI reads,
-- reports, imports, cron and the bus, with Odoo's column names where they matter. It is run by
-- `sluice-bench init` in every tenant database; :scale multiplies the row counts. Re-running it
-- starts from fresh data.
DROP TABLE IF EXISTS pos_order_line, pos_order, sale_order, stock_quant, product_product,
    account_move_line, res_partner, ir_cron, bus_bus, bench_ledger;

CREATE TABLE res_partner (
    id serial PRIMARY KEY,
    name varchar NOT NULL,
    email varchar,
    company_id int NOT NULL DEFAULT 1,
    active boolean NOT NULL DEFAULT true,
    write_date timestamp NOT NULL DEFAULT now()
);
INSERT INTO res_partner (name, email, company_id)
SELECT 'Partner ' || g, 'partner' || g || '@example.com', 1 + g % 3
FROM generate_series(1, 10000 * :scale) g;
CREATE INDEX res_partner_name_idx ON res_partner (name varchar_pattern_ops);

CREATE TABLE product_product (
    id serial PRIMARY KEY,
    default_code varchar NOT NULL,
    name varchar NOT NULL,
    list_price numeric(12, 2) NOT NULL
);
INSERT INTO product_product (default_code, name, list_price)
SELECT 'P' || lpad(g::text, 6, '0'), 'Product ' || g, (1 + g % 200)::numeric
FROM generate_series(1, 2000 * :scale) g;

-- one quant per product: a few best sellers take most sales, so their rows are hot
CREATE TABLE stock_quant (
    id serial PRIMARY KEY,
    product_id int NOT NULL REFERENCES product_product (id),
    location_id int NOT NULL DEFAULT 8,
    quantity numeric NOT NULL,
    reserved_quantity numeric NOT NULL DEFAULT 0,
    write_date timestamp NOT NULL DEFAULT now()
);
INSERT INTO stock_quant (product_id, quantity) SELECT id, 1000000 FROM product_product;
CREATE UNIQUE INDEX stock_quant_product_idx ON stock_quant (product_id, location_id);

CREATE TABLE pos_order (
    id bigserial PRIMARY KEY,
    partner_id int,
    session_id int NOT NULL,
    amount_total numeric(12, 2) NOT NULL,
    state varchar NOT NULL DEFAULT 'paid',
    date_order timestamp NOT NULL DEFAULT now()
);
CREATE TABLE pos_order_line (
    id bigserial PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES pos_order (id),
    product_id int NOT NULL,
    qty numeric NOT NULL,
    price_unit numeric(12, 2) NOT NULL
);

CREATE TABLE sale_order (
    id serial PRIMARY KEY,
    name varchar NOT NULL,
    partner_id int NOT NULL,
    state varchar NOT NULL,
    amount_total numeric(12, 2) NOT NULL,
    date_order timestamp NOT NULL
);
INSERT INTO sale_order (name, partner_id, state, amount_total, date_order)
SELECT 'S' || lpad(g::text, 6, '0'), 1 + g % (10000 * :scale),
       (ARRAY['draft', 'sent', 'sale', 'done'])[1 + g % 4], (g % 997) * 3.5,
       now() - (g % 730) * interval '1 day'
FROM generate_series(1, 20000 * :scale) g;
CREATE INDEX sale_order_partner_idx ON sale_order (partner_id);

-- the reporting tenant's aggregates read this one
CREATE TABLE account_move_line (
    id bigserial PRIMARY KEY,
    partner_id int NOT NULL,
    account_id int NOT NULL,
    date date NOT NULL,
    debit numeric(14, 2) NOT NULL,
    credit numeric(14, 2) NOT NULL
);
INSERT INTO account_move_line (partner_id, account_id, date, debit, credit)
SELECT 1 + g % (10000 * :scale), 400 + g % 40, current_date - (g % 1095),
       CASE WHEN g % 2 = 0 THEN (g % 1000) ELSE 0 END, CASE WHEN g % 2 = 1 THEN (g % 1000) ELSE 0 END
FROM generate_series(1, 200000 * :scale) g;

-- Odoo's scheduler table: workers take due jobs with FOR NO KEY UPDATE SKIP LOCKED
CREATE TABLE ir_cron (
    id serial PRIMARY KEY,
    cron_name varchar NOT NULL,
    active boolean NOT NULL DEFAULT true,
    nextcall timestamp NOT NULL,
    lastcall timestamp
);
INSERT INTO ir_cron (cron_name, nextcall)
SELECT 'cron ' || g, now() - interval '1 minute' FROM generate_series(1, 40) g;

-- the bus: notifications written by transactions, polled by every open browser tab
CREATE TABLE bus_bus (
    id bigserial PRIMARY KEY,
    channel varchar NOT NULL,
    message varchar NOT NULL,
    create_date timestamp NOT NULL DEFAULT now()
);

-- failover.ini's commit ledger: one row per acknowledged transaction
CREATE TABLE bench_ledger (
    id bigint PRIMARY KEY,
    client int NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now()
);

ANALYZE;
