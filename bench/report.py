#!/usr/bin/python3
"""Render bench/compare.sh results as a plain-text table (stdout) and Markdown.

Usage: report.py WORKDIR [--markdown FILE]

WORKDIR holds the files compare.sh writes:
  meta.tsv      key<TAB>value lines (run description, versions, sluice status)
  commands.txt  the exact pgbench / pre-run command lines, one per line
  results.tsv   target workload protocol clients status tps lat_ms failed_tx detail
  memory.tsv    target status n_ok rss_before_kib rss_after_kib kib_per_client detail
Standard library only.
"""
import argparse
import os
import sys

TARGETS = ("direct", "pgbouncer", "sluice")


def read_tsv(path, ncols):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            parts = line.split("\t")
            parts += [""] * (ncols - len(parts))
            rows.append(parts[:ncols])
    return rows


def read_meta(path):
    meta = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.rstrip("\n")
                if "\t" in line:
                    meta.append(tuple(line.split("\t", 1)))
    return meta


def fnum(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def cell_tps(r):
    if r is None:
        return "n/a"
    status, tps = r["status"], fnum(r["tps"])
    if status in ("n/a", "skipped"):
        return {"n/a": "n/a", "skipped": "skip"}[status]
    if tps is None:
        return "fail"
    mark = "*" if status != "ok" else ""
    return "%.0f%s" % (tps, mark)


def cell_lat(r):
    if r is None:
        return "n/a"
    if r["status"] in ("n/a", "skipped"):
        return {"n/a": "n/a", "skipped": "skip"}[r["status"]]
    lat = fnum(r["lat_ms"])
    if lat is None:
        return "fail"
    return "%.3f%s" % (lat, "*" if r["status"] != "ok" else "")


def build(workdir):
    meta = read_meta(os.path.join(workdir, "meta.tsv"))
    commands = []
    cpath = os.path.join(workdir, "commands.txt")
    if os.path.exists(cpath):
        with open(cpath) as f:
            commands = [l.rstrip("\n") for l in f if l.strip()]

    results = {}
    order = []
    notes = []
    skipped_noted = set()
    for target, workload, protocol, clients, status, tps, lat, failed, detail in read_tsv(
            os.path.join(workdir, "results.tsv"), 9):
        key = (workload, protocol, clients)
        if key not in results:
            results[key] = {}
            order.append(key)
        results[key][target] = {"status": status, "tps": tps, "lat_ms": lat, "failed": failed, "detail": detail}
        if status not in ("ok", "n/a") and (target, status, detail) in skipped_noted:
            continue
        skipped_noted.add((target, status, detail))
        if status not in ("ok", "n/a"):
            notes.append("%s %s %s c=%s: %s%s" % (target, workload, protocol, clients, status,
                                                   (" — " + detail) if detail else ""))

    header = ["Workload", "Protocol", "Clients", "TPS direct", "TPS pgbouncer", "TPS sluice",
              "Lat direct (ms)", "Lat pgbouncer (ms)", "Lat sluice (ms)", "sluice/pgbouncer"]
    rows = []
    for key in order:
        r = results[key]
        ratio = "n/a"
        pb, sl = r.get("pgbouncer"), r.get("sluice")
        if pb and sl and pb["status"] == "ok" and sl["status"] == "ok":
            a, b = fnum(pb["tps"]), fnum(sl["tps"])
            if a and b is not None:
                ratio = "%.2f" % (b / a)
        rows.append([key[0], key[1], key[2]] + [cell_tps(r.get(t)) for t in TARGETS]
                    + [cell_lat(r.get(t)) for t in TARGETS] + [ratio])

    mem_header = ["Pooler", "Idle clients", "RSS before (KiB)", "RSS after (KiB)", "KiB per idle client"]
    mem_rows = []
    mem = {}
    for target, status, n_ok, before, after, per, detail in read_tsv(os.path.join(workdir, "memory.tsv"), 7):
        mem[target] = per if status == "ok" else None
        if status == "ok":
            mem_rows.append([target, n_ok, before, after, "%.2f" % float(per)])
        else:
            mem_rows.append([target, n_ok or "-", before or "-", after or "-", status])
            if status != "n/a":
                notes.append("memory %s: %s%s" % (target, status, (" — " + detail) if detail else ""))
    if fnum(mem.get("pgbouncer")) and fnum(mem.get("sluice")) is not None:
        mem_rows.append(["sluice/pgbouncer", "", "", "", "%.2f" % (float(mem["sluice"]) / float(mem["pgbouncer"]))])
    return meta, commands, header, rows, mem_header, mem_rows, notes


def text_table(header, rows, left):
    """Columns before index `left` are left-aligned, the others right-aligned."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    def fmt(r):
        return "  ".join(str(c).ljust(w) if i < left else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()
    sep = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(header), sep] + [fmt(r) for r in rows])


def md_table(header, rows, left):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join(["---"] * left + ["--:"] * (len(header) - left)) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


FOOTNOTE = ("`*` = pgbench reported failed transactions or a non-zero exit; `fail` = no TPS line; "
            "`n/a` = target not given; `skip` = target died or hung earlier in the run. TPS is pgbench's \"tps = … (without initial connection time)\" "
            "(for -C runs: \"including reconnection times\"); latency is pgbench's \"latency average\".")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("workdir")
    ap.add_argument("--markdown", help="also write the report as Markdown to this file")
    args = ap.parse_args()
    meta, commands, header, rows, mem_header, mem_rows, notes = build(args.workdir)

    # plain text
    out = ["== sluice / PgBouncer / PostgreSQL direct: pgbench comparison =="]
    for k, v in meta:
        out.append("%-22s %s" % (k + ":", v))
    out += ["", "Commands (PORT = the target's port, listed above):"]
    out += ["  " + c for c in commands]
    out += ["", text_table(header, rows, 2), "", FOOTNOTE.replace("`", ""), ""]
    out += ["Memory per idle client (VmRSS delta / clients):", text_table(mem_header, mem_rows, 1)]
    if notes:
        out += ["", "Problems:"] + ["  - " + n for n in notes]
    print("\n".join(out))

    if args.markdown:
        md = ["# sluice vs PgBouncer vs PostgreSQL direct (pgbench)", ""]
        for k, v in meta:
            md.append("- **%s**: %s" % (k, v))
        md += ["", "## Commands", "", "```"] + commands + ["```", "", "## Throughput and latency", "",
                                                          md_table(header, rows, 2), "", FOOTNOTE, "",
                                                          "## Memory per idle client", "",
                                                          md_table(mem_header, mem_rows, 1), ""]
        if notes:
            md += ["## Problems", ""] + ["- " + n for n in notes] + [""]
        with open(args.markdown, "w") as f:
            f.write("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
