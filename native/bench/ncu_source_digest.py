#!/usr/bin/env python3
"""Digest of an Nsight Compute source page: where one kernel's instructions and stalls go.

Input: the CSV that `ncu --import REPORT --page source --csv --print-source sass` prints for a
report of one kernel launch taken with `--section SourceCounters` (one row per SASS instruction:
its executed count and its warp-stall samples by reason). The CSV is megabytes; a device call
brings back this digest instead (NOTES runs 7-9 read the same figures by hand):

  kernel, samples, executed warp instructions, SASS instructions
  stall reasons, % of all samples (largest first)
  executed instructions by opcode, % (largest first)
  the lines with the most samples, with their two largest stall reasons
  the most executed instruction forms (registers written R / UR) among --forms opcodes

Usage: ncu_source_digest.py CSV [--top N] [--forms IMAD,PRMT,LOP3]
Exit 2 with a message naming the problem when the file is not such a page.
"""
import collections
import csv
import re
import sys


def fail(msg):
    print(f"ncu_source_digest: {msg}", file=sys.stderr)
    sys.exit(2)


def opcode(source):
    m = re.match(r"(?:@!?U?P[T\d]+\s+)?([A-Z][A-Z0-9_]*)", source)
    return m.group(1) if m else "?"


def form(source):
    return re.sub(r"\bU?R\d+\b", lambda r: "UR" if r.group(0).startswith("U") else "R", source)


def number(cell):
    try:
        return float(cell) if cell not in ("", None) else 0.0
    except ValueError:
        return 0.0


def digest(path, top, forms):
    try:
        rows = list(csv.reader(open(path, newline="")))
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}")
    header_at = next((i for i, r in enumerate(rows[:5]) if "Source" in r and "Instructions Executed" in r), None)
    if header_at is None:
        fail(f"{path}: no header with 'Source' and 'Instructions Executed' in its first 5 lines "
             "(expected `ncu --page source --csv --print-source sass` of a SourceCounters report)")
    kernel = rows[0][1] if header_at > 0 and len(rows[0]) > 1 else "?"
    hdr = rows[header_at]
    col = {h: i for i, h in enumerate(hdr)}
    samples_col = col.get("Warp Stall Sampling (All Samples)")
    if samples_col is None:
        fail(f"{path}: no 'Warp Stall Sampling (All Samples)' column (collect --section SourceCounters)")
    stalls = [h for h in hdr if h.startswith("stall_") and "Not Issued" not in h]
    by_stall = collections.Counter()
    by_op = collections.Counter()
    by_form = collections.Counter()
    lines = []
    total_samples = total_inst = 0.0
    for r in rows[header_at + 1:]:
        if len(r) < len(hdr):
            continue
        src = r[col["Source"]].strip()
        n = number(r[col["Instructions Executed"]])
        s = number(r[samples_col])
        total_inst += n
        total_samples += s
        op = opcode(src)
        by_op[op] += n
        if op in forms:
            by_form[form(src)] += n
        reasons = {h[len("stall_"):]: number(r[col[h]]) for h in stalls if number(r[col[h]]) > 0}
        for k, v in reasons.items():
            by_stall[k] += v
        lines.append((s, src, reasons))
    if not lines:
        fail(f"{path}: a header but no instruction rows")
    out = [f"kernel: {kernel}",
           f"samples {int(total_samples)}, executed warp instructions {int(total_inst):,}, SASS instructions {len(lines)}"]
    if total_samples > 0:
        out.append("stalls %: " + ", ".join(f"{k} {100 * v / total_samples:.1f}" for k, v in by_stall.most_common(10)))
    if total_inst > 0:
        out.append("opcodes %: " + ", ".join(f"{k} {100 * v / total_inst:.1f}" for k, v in by_op.most_common(14)))
    out.append(f"top {top} lines by samples:")
    for s, src, reasons in sorted(lines, key=lambda x: -x[0])[:top]:
        two = sorted(reasons.items(), key=lambda kv: -kv[1])[:2]
        out.append(f"  {int(s):7d}  {src[:64]:64s}  " + ", ".join(f"{k} {int(v)}" for k, v in two))
    out.append(f"top {top} forms of {','.join(sorted(forms))} by executed count (millions):")
    for f, n in by_form.most_common(top):
        out.append(f"  {n / 1e6:8.2f}  {f[:80]}")
    return "\n".join(out)


def main(argv):
    args = argv[1:]
    top, forms, path = 12, {"IMAD", "PRMT", "LOP3"}, None
    while args:
        a = args.pop(0)
        if a == "--top":
            if not args or not args[0].isdigit() or int(args[0]) < 1:
                fail(f"--top: expected a positive integer, got {args[0] if args else 'nothing'}")
            top = int(args.pop(0))
        elif a == "--forms":
            if not args or not re.fullmatch(r"[A-Z0-9_]+(,[A-Z0-9_]+)*", args[0]):
                fail(f"--forms: expected opcodes like IMAD,PRMT, got {args[0] if args else 'nothing'}")
            forms = set(args.pop(0).split(","))
        elif a.startswith("-"):
            fail(f"unknown option {a} (expected --top N, --forms OPS)")
        elif path is None:
            path = a
        else:
            fail(f"one CSV expected, got a second: {a}")
    if path is None:
        fail("usage: ncu_source_digest.py CSV [--top N] [--forms IMAD,PRMT,LOP3]")
    print(digest(path, top, forms))


if __name__ == "__main__":
    main(sys.argv)
