#!/usr/bin/env python3
"""paired.py: what does a step add to a command? Time a base command and
the same command with the step, interleaved, and report the paired
difference.

    paired.py [--runs N] [--warmup W] [--prepare SH] --json OUT -- BASE... :: WITH...

Why not two hyperfine rows: hyperfine runs every run of one command, then
every run of the next, so whatever drifts in between (the CPUs' idle and
frequency states, a kernel workqueue still busy with an earlier row, the
page cache) lands in the difference of their medians. Here run i of BASE
and run i of WITH come back to back, in an order that alternates (BASE
first on even i, WITH first on odd i, so a drift within a pair cancels
too), and the figure is the median of the N differences WITH_i - BASE_i,
with a 95% interval from resampling the pairs (bootstrap, 2000 draws,
fixed seed). What hyperfine -N does per run is done here too: fork and
exec the command without a shell, wait, take the wall time around both
(time.perf_counter_ns); stdin, stdout and stderr are /dev/null; a non-zero
exit status fails the script. --prepare runs before every timed run
(`/bin/sh -c SH`, not timed, like hyperfine's --prepare); --warmup runs
W pairs first, untimed.

OUT gets {"base": [ms...], "with": [ms...], "diff": {"median", "low",
"high", "mean"}}; one summary line goes to stdout.
"""

import gc
import json
import os
import random
import statistics
import subprocess
import sys
import time


def usage(msg):
    sys.exit("paired.py: %s\nusage: paired.py [--runs N] [--warmup W] [--prepare SH] --json OUT -- BASE... :: WITH..." % msg)


def parse(argv):
    opts = {"runs": 100, "warmup": 3, "prepare": None, "json": None}
    i = 0
    while i < len(argv) and argv[i] != "--":
        key = argv[i].lstrip("-")
        if key not in opts or i + 1 >= len(argv):
            usage("unknown or incomplete option %r" % argv[i])
        opts[key] = argv[i + 1]
        i += 2
    rest = argv[i + 1:]
    if "::" not in rest:
        usage("the two commands must be separated by ::")
    cut = rest.index("::")
    base, with_step = rest[:cut], rest[cut + 1:]
    if not base or not with_step or opts["json"] is None:
        usage("two commands and --json are needed")
    try:
        opts["runs"], opts["warmup"] = int(opts["runs"]), int(opts["warmup"])
    except ValueError:
        usage("--runs and --warmup take integers")
    if opts["runs"] < 2:
        usage("--runs must be at least 2")
    return opts, base, with_step


def timed(argv, null):
    begin = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, null, 0),
                                       (os.POSIX_SPAWN_DUP2, null, 1),
                                       (os.POSIX_SPAWN_DUP2, null, 2)])
    _, status = os.waitpid(pid, 0)
    took = (time.perf_counter_ns() - begin) / 1e6
    if status != 0:
        sys.exit("paired.py: %s exited with wait status %d" % (" ".join(argv), status))
    return took


def prepare(sh):
    if sh is not None:
        subprocess.run(["/bin/sh", "-c", sh], check=True)


def interval(diffs):
    rng = random.Random(42)
    n = len(diffs)
    medians = sorted(statistics.median(rng.choices(diffs, k=n)) for _ in range(2000))
    return medians[int(0.025 * len(medians))], medians[int(0.975 * len(medians)) - 1]


def main():
    opts, base, with_step = parse(sys.argv[1:])
    null = os.open("/dev/null", os.O_RDWR)
    gc.disable()  # no collection pause inside a timed run
    times = {"base": [], "with": []}
    for i in range(opts["warmup"] + opts["runs"]):
        order = [("base", base), ("with", with_step)]
        if i % 2:
            order.reverse()
        for key, argv in order:
            prepare(opts["prepare"])
            took = timed(argv, null)
            if i >= opts["warmup"]:
                times[key].append(took)
    diffs = [w - b for b, w in zip(times["base"], times["with"])]
    low, high = interval(diffs)
    diff = {"median": statistics.median(diffs), "low": low, "high": high,
            "mean": statistics.fmean(diffs)}
    with open(opts["json"], "w") as out:
        json.dump({"base": times["base"], "with": times["with"], "diff": diff}, out)
    print("paired: %d pairs, base median %.3f ms, with the step %.3f ms, difference %+.3f ms (95%% interval %+.3f to %+.3f)"
          % (opts["runs"], statistics.median(times["base"]), statistics.median(times["with"]),
             diff["median"], low, high))


if __name__ == "__main__":
    main()
