-- failover.ini: one short write per transaction carrying its :ledger_id. sluice-bench lists
-- every id whose COMMIT was acknowledged in DIR/ledger-writes.txt; after a failover every one of
-- them must be in bench_ledger on the new primary.
BEGIN;
INSERT INTO bench_ledger (id, client) VALUES (:ledger_id, :client_id);
COMMIT;
