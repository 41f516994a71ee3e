"""Compare the builds a device call timed alternately (ci/device-plan/setup.sh's benchVariants):
per row (configuration, T) and tactic, each variant's time against the base build's, and each
variant's sum over rows and rounds of one tactic, the measure the plans decide by.

A benchVariants file holds moe_bench's ROW lines with the build's name and the round in front:
  main1 ROW deepseek-v3      T=1     experts   8 default 8/3    | 8/3:0.173 16/3:0.222
The round is the last digit of the prefix (benchVariants runs at most 9 rounds), so a name may
end in digits (bt16 round 2: "bt162"). Lines without a round digit count as round 1 of a name
given by --names.

  python3 ci/device-plan/compare_variants.py FILE [--base main] [--tactic 8/3] [--names a,b]

Output (markdown): one table per tactic, a row per (configuration, T): the base's best time over
rounds (ms) and every other build's best as a change against it (%); then, per build, the
tactic summed over every row and round both builds have, against the base's sum, and for 8/3
the plans' rule: it pays at <= -3 % with the gpt-oss-120b rows (MX weights) at <= +1 %.
Exit: 0 done, 2 a bad option or a file with no ROW lines for the base (named).
"""
import re
import sys

ROW = re.compile(r"^(\S+?)\s+ROW\s+(\S+)\s+T=(\d+)\s.*\|\s*(.*)$")


def fail(msg):
    print(f"compare_variants: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_args(argv):
    opts = {"base": "main", "tactic": [], "names": []}
    files = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--base", "--tactic", "--names"):
            if i + 1 >= len(argv):
                fail(f"{a}: expected a value, got nothing")
            v = argv[i + 1]
            if a == "--base":
                opts["base"] = v
            elif a == "--tactic":
                if not re.fullmatch(r"\d+/\d+", v):
                    fail(f"--tactic: expected tileTokens/config such as 8/3, got {v}")
                opts["tactic"].append(v)
            else:
                opts["names"] = [n for n in v.split(",") if n]
            i += 2
        elif a.startswith("--"):
            fail(f"unknown option {a} (expected --base, --tactic, --names)")
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
    wanted = opts["tactic"] or tactics
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
            if n == 0:
                print(f"  {o}: no rows in common with {base}")
                continue
            change = 100 * (so / sb - 1)
            text = f"  {o}: {so:.4f} against {sb:.4f} ms ({change:+.1f} %, {n} row-rounds)"
            if tac == "8/3":
                gpt = 100 * (sog / sbg - 1) if sbg > 0 else 0.0
                pays = change <= -3.0 and gpt <= 1.0
                text += f"; gpt-oss {gpt:+.1f} %: {'pays' if pays else 'does not pay'} (<= -3 %, gpt-oss <= +1 %)"
            print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
