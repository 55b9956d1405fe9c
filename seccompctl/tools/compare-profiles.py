#!/usr/bin/env python3
"""Compare two Docker-format seccomp profiles as a container would see them.

Usage:
    compare-profiles.py A.json B.json CAPS [--kernel 6.1] [--arch amd64]
                        [--names A,B]

CAPS is a comma-separated capability list (the container's bounding set),
with or without the CAP_ prefix; "" means none.

Each profile is evaluated as moby and containers/common evaluate it: an
entry is skipped if excludes.arches holds the arch, if any excludes.caps cap
is in the set, if the kernel is at or above excludes.minKernel, if a
non-empty includes.arches lacks the arch, if any includes.caps cap is
missing, or if includes.minKernel is above the kernel. The architectures are
the arch's archMap entry (itself and its sub-architectures), else the
profile's `architectures`.

Then every syscall name either profile lists gets one decision:
    ALLOW, ERRNO(n), ...   an entry without argument rules applies
    ARGS[...; else D]      only argument-checked entries apply; a call that
                           none matches gets the default action D
    D (unlisted)           no entry applies: the default action
An entry without argument rules overrides argument-checked ones, and of two
such entries for one name the first listed wins: libseccomp 2.5 keeps the
first and silently drops the later one. Dropped entries are listed at the
end of the report.

Names are compared as listed. A profile written for several architectures
lists names that exist only on some (chown32 is i386's, riscv_hwprobe is
RISC-V's); they are compared like any other.

Python 3 standard library only. Prints a Markdown report. Exit status: 0
when every decision is the same, 1 when some differ, 2 on bad input.
"""

import argparse
import json
import sys

# Go architecture names and the libseccomp ones of their archMap entry.
NATIVE = {
    "amd64": "SCMP_ARCH_X86_64",
    "arm64": "SCMP_ARCH_AARCH64",
    "riscv64": "SCMP_ARCH_RISCV64",
    "s390x": "SCMP_ARCH_S390X",
    "loong64": "SCMP_ARCH_LOONGARCH64",
}

OPS = {
    "SCMP_CMP_NE": "!=",
    "SCMP_CMP_LT": "<",
    "SCMP_CMP_LE": "<=",
    "SCMP_CMP_EQ": "==",
    "SCMP_CMP_GE": ">=",
    "SCMP_CMP_GT": ">",
}


def kernel_tuple(text):
    """'6.1', '5.8.0-rc1' -> (major, minor)."""
    parts = []
    for piece in text.replace("-", ".").split("."):
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        parts.append(int(digits))
    if not parts:
        raise ValueError("kernel version %r is not MAJOR.MINOR" % text)
    return tuple((parts + [0])[:2])


def norm_cap(cap):
    cap = cap.strip().upper()
    return cap if cap.startswith("CAP_") else "CAP_" + cap


def action_of(name, errno):
    """An action as short text: ALLOW, ERRNO(1), KILL_PROCESS, ..."""
    short = name[len("SCMP_ACT_"):] if name.startswith("SCMP_ACT_") else name
    if short == "ERRNO":
        return "ERRNO(%d)" % (1 if errno is None else errno)
    if short == "TRACE":
        return "TRACE(%d)" % (0 if errno is None else errno)
    return short


def default_of(profile):
    errno = profile.get("defaultErrnoRet")
    if errno is None:
        errno = profile.get("defaultErrno")
    return action_of(profile["defaultAction"], errno)


def condition(entry, key):
    c = entry.get(key) or {}
    return list(c.get("caps") or []), list(c.get("arches") or []), c.get("minKernel")


def kept(entry, caps, arch, kernel):
    inc_caps, inc_arches, inc_min = condition(entry, "includes")
    exc_caps, exc_arches, exc_min = condition(entry, "excludes")
    if arch in exc_arches or any(c in caps for c in exc_caps):
        return False
    if exc_min is not None and kernel >= kernel_tuple(exc_min):
        return False
    if inc_arches and arch not in inc_arches:
        return False
    if any(c not in caps for c in inc_caps):
        return False
    if inc_min is not None and kernel < kernel_tuple(inc_min):
        return False
    return True


def arg_text(a):
    if a["op"] == "SCMP_CMP_MASKED_EQ":
        return "a%d&%#x==%#x" % (a["index"], a["value"], a.get("valueTwo", 0))
    return "a%d%s%d" % (a["index"], OPS.get(a["op"], a["op"]), a["value"])


def names_of(entry):
    names = list(entry.get("names") or [])
    if entry.get("name"):
        names.append(entry["name"])
    return names


def evaluate(profile, caps, arch, kernel):
    """(default, architectures, decisions, dropped): decisions maps each
    listed name to its decision, dropped each name to the actions of the
    later unconditional entries libseccomp ignores."""
    native = NATIVE.get(arch)
    arches = None
    for item in profile.get("archMap") or []:
        if native and item.get("architecture") == native:
            arches = [native] + list(item.get("subArchitectures") or [])
    if arches is None:
        arches = list(profile.get("architectures") or [])
    default = default_of(profile)
    plain, checked = {}, {}
    for entry in profile.get("syscalls") or []:
        if not kept(entry, caps, arch, kernel):
            continue
        action = action_of(entry["action"], entry.get("errnoRet"))
        args = entry.get("args") or []
        for name in names_of(entry):
            if args:
                rule = "%s if %s" % (action, " && ".join(arg_text(a) for a in args))
                checked.setdefault(name, set()).add(rule)
            else:
                plain.setdefault(name, []).append(action)
    decisions, dropped = {}, {}
    for name, actions in plain.items():
        decisions[name] = actions[0]
        later = [a for a in actions[1:] if a != actions[0]]
        if later:
            dropped[name] = later
    for name, rules in checked.items():
        if name not in decisions:
            decisions[name] = "ARGS[%s; else %s]" % ("; ".join(sorted(rules)), default)
    return default, arches, decisions, dropped


def gated(profile):
    """{cap: {(name, 'with' | 'without', action)}} over the raw entries,
    'with' for includes.caps and 'without' for excludes.caps."""
    out = {}
    for entry in profile.get("syscalls") or []:
        action = action_of(entry["action"], entry.get("errnoRet"))
        if entry.get("args"):
            action += " arg-checked"
        for kind, key in (("with", "includes"), ("without", "excludes")):
            for cap in condition(entry, key)[0]:
                for name in names_of(entry):
                    out.setdefault(cap, set()).add((name, kind, action))
    return out


def gated_text(items):
    """A plain name for 'allowed with the cap', else the name with what it
    gets and when."""
    out = []
    for name, kind, action in sorted(items):
        if kind == "with" and action == "ALLOW":
            out.append(name)
        else:
            out.append("%s (%s: %s)" % (name, kind, action))
    return ", ".join(out) or "-"


def report(labels, profiles, caps, arch, kernel):
    """Prints the report; returns whether anything differs."""
    (la, lb), (pa, pb) = labels, profiles
    def_a, arch_a, dec_a, drop_a = evaluate(pa, caps, arch, kernel)
    def_b, arch_b, dec_b, drop_b = evaluate(pb, caps, arch, kernel)

    def eff_a(n):
        return dec_a.get(n, def_a)

    def eff_b(n):
        return dec_b.get(n, def_b)

    def shown(dec, default, n):
        return dec[n] if n in dec else "%s (unlisted)" % default

    def runs(d):
        return d == "ALLOW" or d.startswith("ARGS")

    names = sorted(set(dec_a) | set(dec_b))
    same = [n for n in names if eff_a(n) == eff_b(n)]
    rest = [n for n in names if eff_a(n) != eff_b(n)]
    only_a = [n for n in rest if eff_a(n) == "ALLOW" and not runs(eff_b(n))]
    only_b = [n for n in rest if eff_b(n) == "ALLOW" and not runs(eff_a(n))]
    args = [n for n in rest if n not in only_a and n not in only_b
            and (eff_a(n).startswith("ARGS") or eff_b(n).startswith("ARGS"))]
    other = [n for n in rest if n not in only_a + only_b + args]
    differ = bool(rest) or def_a != def_b or arch_a != arch_b

    print("# %s vs %s" % (la, lb))
    print()
    print("- caps (%d): %s" % (len(caps), ", ".join(sorted(caps)) or "none"))
    print("- arch %s, kernel %d.%d" % (arch, kernel[0], kernel[1]))
    print("- default action (unlisted calls): %s %s, %s %s" % (la, def_a, lb, def_b))
    print("- architectures: %s %s, %s %s" % (la, " ".join(arch_a), lb, " ".join(arch_b)))
    print("- names listed after evaluation: %s %d, %s %d, either %d; same decision: %d"
          % (la, len(dec_a), lb, len(dec_b), len(names), len(same)))

    for title, rows in (
        ("allowed by %s, not by %s" % (la, lb), only_a),
        ("allowed by %s, not by %s" % (lb, la), only_b),
        ("argument rules that differ", args),
        ("denied by both, with a different errno", other),
    ):
        print()
        print("## %s (%d)" % (title, len(rows)))
        if rows:
            print()
            print("| name | %s | %s |" % (la, lb))
            print("|---|---|---|")
            for n in rows:
                print("| %s | %s | %s |" % (n, shown(dec_a, def_a, n), shown(dec_b, def_b, n)))

    print()
    print("## capability-gated names (raw entries; * = cap in the set)")
    print()
    print("| cap | only in %s | only in %s | in both |" % (la, lb))
    print("|---|---|---|---|")
    gate_a, gate_b = gated(pa), gated(pb)
    for cap in sorted(set(gate_a) | set(gate_b)):
        ga, gb = gate_a.get(cap, set()), gate_b.get(cap, set())
        print("| %s%s | %s | %s | %s |" % (cap, "*" if cap in caps else "",
                                          gated_text(ga - gb), gated_text(gb - ga),
                                          gated_text(ga & gb)))

    for label, dec, dropped in ((la, dec_a, drop_a), (lb, dec_b, drop_b)):
        if dropped:
            print()
            print("## %s: entries libseccomp drops (an earlier entry decides)" % label)
            print()
            for n in sorted(dropped):
                print("- %s: %s; dropped: %s" % (n, dec[n], ", ".join(dropped[n])))
    return differ


def main():
    p = argparse.ArgumentParser(
        description="Compare two Docker-format seccomp profiles, evaluated for a cap set.")
    p.add_argument("a", help="first profile (JSON)")
    p.add_argument("b", help="second profile (JSON)")
    p.add_argument("caps", help="comma-separated capability list ('' for none)")
    p.add_argument("--kernel", default="6.1", help="kernel MAJOR.MINOR (default 6.1)")
    p.add_argument("--arch", default="amd64", help="Go architecture name (default amd64)")
    p.add_argument("--names", default="A,B", help="labels for the two profiles (default A,B)")
    opts = p.parse_args()
    try:
        labels = tuple(opts.names.split(",", 1))
        if len(labels) != 2:
            raise ValueError("--names wants two labels, comma-separated")
        kernel = kernel_tuple(opts.kernel)
        caps = {norm_cap(c) for c in opts.caps.split(",") if c.strip()}
        profiles = []
        for path in (opts.a, opts.b):
            with open(path) as f:
                profiles.append(json.load(f))
        return 1 if report(labels, profiles, caps, opts.arch, kernel) else 0
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        print("compare-profiles: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
