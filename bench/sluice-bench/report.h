/* Reports of a sluice-bench run: DIR/report.json (every figure), DIR/report.md (a table per
 * workload), DIR/timeline-NAME.tsv and DIR/plots.gp, rendered to PNG with gnuplot. */
#ifndef SLUICE_BENCH_REPORT_H
#define SLUICE_BENCH_REPORT_H

#include "engine.h"

/* Write every report file into dir (which must exist). Returns 0, or -1 after printing why. */
int report_write(struct bench *b, const char *dir);

#endif
