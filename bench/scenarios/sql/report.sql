-- A reporting tenant's aged balance / P&L style aggregate. Each pass reads every journal item
-- once, so the time grows with :scale and the number of passes: on the project's 2-core test VM
-- it took 1-3 s at scale 1, which makes it 5-30 s at about scale 10. Tune to your hardware.
\set passes random(5, 30)
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT l.account_id, date_trunc('month', l.date) AS month, sum(l.debit - l.credit) AS balance, count(*)
FROM account_move_line l CROSS JOIN generate_series(1, :passes) AS pass
GROUP BY 1, 2 ORDER BY 1, 2;
COMMIT;
