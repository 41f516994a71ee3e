"""Compare the builds a device call timed alternately (ci/device-plan/setup.sh's benchVariants):
per row (configuration, T) and tactic, each variant's time against the base build's, and each
variant's sum over rows and rounds of one tactic, the measure the plans decide by.

A benchVariants file holds moe_bench's ROW lines with the build's name and the round in front:
  main1 ROW deepseek-v3      T=1     experts   8 default 8/3    | 8/3:0.173 16/3:0.222
The round is the last digit of the prefix (benchVariants runs at most 9 rounds), so a name may
end in digits (bt16 round 2: "bt162"). Lines without a round digit count as round 1 of a name
given by --names.

  python3 ci/device-plan/compare_variants.py FILE [--base main] [--tactic 8/3] [--names a,b]
                                                [--rule TACTIC:SUM[:GPT]]...

Output (markdown): one table per tactic, a row per (configuration, T): the base's best time over
rounds (ms) and every other build's best as a change against it (%); then, per build, the
tactic summed over every row and round both builds have, against the base's sum, judged by the
tactic's rule where it has one; then, per build, whether it pays under every rule. A rule
TACTIC:SUM[:GPT] says a build pays at that tactic summed <= SUM % against the base, and with GPT
also its gpt-oss-120b rows (MX weights) summed <= GPT %; a build with no rows of a rule's tactic
does not pay. Without --rule the plans' rule 8/3:-3:1 (<= -3 %, gpt-oss <= +1 %) applies; the
rules' tactics are printed whatever --tactic says.
Exit: 0 done, 2 a bad option or a file with no ROW lines for the base (named).
"""
import re
import sys

ROW = re.compile(r"^(\S+?)\s+ROW\s+(\S+)\s+T=(\d+)\s.*\|\s*(.*)$")


def fail(msg):
    print(f"compare_variants: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_args(argv):
    opts = {"base": "main", "tactic": [], "names": [], "rule": []}
    files = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--base", "--tactic", "--names", "--rule"):
            if i + 1 >= len(argv):
                fail(f"{a}: expected a value, got nothing")
            v = argv[i + 1]
            if a == "--base":
                opts["base"] = v
            elif a == "--tactic":
                if not re.fullmatch(r"\d+/\d+", v):
                    fail(f"--tactic: expected tileTokens/config such as 8/3, got {v}")
                opts["tactic"].append(v)
            elif a == "--rule":
                m = re.fullmatch(r"(\d+/\d+):([-+]?\d+(?:\.\d+)?)(?::([-+]?\d+(?:\.\d+)?))?", v)
                if not m:
                    fail(f"--rule: expected TACTIC:SUM[:GPT] such as 8/3:-3:1 (percent against the base), got {v}")
                if any(r[0] == m.group(1) for r in opts["rule"]):
                    fail(f"--rule: tactic {m.group(1)} has two rules")
                opts["rule"].append((m.group(1), float(m.group(2)), float(m.group(3)) if m.group(3) else None))
            else:
                opts["names"] = [n for n in v.split(",") if n]
            i += 2
        elif a.startswith("--"):
            fail(f"unknown option {a} (expected --base, --tactic, --names, --rule)")
        else:
            files.append(a)
            i += 1
    if len(files) != 1:
        fail(f"expected one benchVariants file, got {len(files)}")
    return files[0], opts


def split_prefix(prefix, names):
    for n in names:
        if prefix == n:
            return n, 1
        if prefix.startswith(n) and prefix[len(n):].isdigit() and len(prefix) == len(n) + 1:
            return n, int(prefix[len(n):])
    m = re.fullmatch(r"(.+?)(\d)", prefix)
    return (m.group(1), int(m.group(2))) if m else (prefix, 1)


def main(argv):
    path, opts = parse_args(argv)
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}")
    times = {}  # (build, config, T, tactic) -> [ms per round]
    builds, rows, tactics = [], [], []
    for line in lines:
        m = ROW.match(line)
        if not m:
            continue
        build, rnd = split_prefix(m.group(1), opts["names"])
        row = (m.group(2), int(m.group(3)))
        for cell in m.group(4).split():
            tac, _, ms = cell.partition(":")
            try:
                v = float(ms)
            except ValueError:
                continue
            times.setdefault((build, row[0], row[1], tac), []).append(v)
            if tac not in tactics:
                tactics.append(tac)
        if build not in builds:
            builds.append(build)
        if row not in rows:
            rows.append(row)
    base = opts["base"]
    if base not in builds:
        fail(f"{path}: no ROW lines of the base build '{base}' (builds found: {', '.join(builds) or 'none'})")
    others = [b for b in builds if b != base]
    rules = opts["rule"] or [("8/3", -3.0, 1.0)]
    wanted = list(opts["tactic"] or tactics)
    wanted += [r[0] for r in rules if r[0] not in wanted]
    verdicts = {o: [] for o in others}  # build -> [(rule text, pays, why)]
    for tac in wanted:
        print(f"\n{tac}: the base's best over rounds (ms), each build's best against it")
        print("| row | " + base + " | " + " | ".join(others) + " |")
        print("|---" * (2 + len(others)) + "|")
        for config, T in rows:
            b = times.get((base, config, T, tac))
            if not b:
                continue
            cells = []
            for o in others:
                v = times.get((o, config, T, tac))
                cells.append(f"{100 * (min(v) / min(b) - 1):+.1f} %" if v else "—")
            print(f"| {config} T={T} | {min(b):.3f} | " + " | ".join(cells) + " |")
        print(f"\n{tac} summed over the rows and rounds both builds have:")
        for o in others:
            sb = so = sbg = sog = 0.0
            n = 0
            for config, T in rows:
                b = times.get((base, config, T, tac))
                v = times.get((o, config, T, tac))
                if not b or not v:
                    continue
                k = min(len(b), len(v))
                sb += sum(b[:k])
                so += sum(v[:k])
                n += k
                if config.startswith("gpt-oss"):
                    sbg += sum(b[:k])
                    sog += sum(v[:k])
            rule = next((r for r in rules if r[0] == tac), None)
            if n == 0:
                print(f"  {o}: no rows in common with {base}")
                if rule:
                    verdicts[o].append((rule_text(rule), False, f"no {tac} rows"))
                continue
            change = 100 * (so / sb - 1)
            text = f"  {o}: {so:.4f} against {sb:.4f} ms ({change:+.1f} %, {n} row-rounds)"
            if rule:
                gpt = 100 * (sog / sbg - 1) if sbg > 0 else None
                why = []
                if change > rule[1]:
                    why.append(f"{tac} {change:+.1f} % > {rule[1]:+g} %")
                if rule[2] is not None and (gpt is None or gpt > rule[2]):
                    why.append(f"gpt-oss {'no rows' if gpt is None else f'{gpt:+.1f} %'} > {rule[2]:+g} %")
                if rule[2] is not None or gpt is not None:
                    text += f"; gpt-oss {'—' if gpt is None else f'{gpt:+.1f} %'}"
                text += f": {'pays' if not why else 'does not pay'} ({rule_text(rule)})"
                verdicts[o].append((rule_text(rule), not why, "; ".join(why)))
            print(text)
    print("\nrules: " + "; ".join(f"{r[0]}: {rule_text(r)}" for r in rules))
    for o in others:
        bad = [w for _, ok, w in verdicts[o] if not ok]
        if len(verdicts[o]) < len(rules):
            bad.append("a rule's tactic has no sum")
        print(f"  {o}: " + ("pays under every rule" if not bad else "does not pay (" + "; ".join(bad) + ")"))
    return 0


def rule_text(rule):
    return f"summed <= {rule[1]:+g} %" + (f", gpt-oss <= {rule[2]:+g} %" if rule[2] is not None else "")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
