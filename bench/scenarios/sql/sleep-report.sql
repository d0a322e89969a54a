-- noisy-neighbour.ini's noisy tenant: a "report" that holds its server connection for 50 ms.
BEGIN;
SELECT pg_sleep(0.05);
COMMIT;
