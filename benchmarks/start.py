"""Start benchmark: `%load_ext azmodels_magic` against `%load_ext sql` (jupysql) and
`%load_ext bigquery_magics`, each in fresh interpreters, interleaved, in the same run.

    python benchmarks/start.py            # 10 repeats each, medians
    python benchmarks/start.py --quick    # 3 repeats

Each sample is a new Python process that builds an IPython InteractiveShell (as a fresh kernel
has one) and times only the `%load_ext` call: IPython's own start-up is the same for all three
and is reported apart. One untimed warm-up per extension first (disk cache), then the three
extensions in turn, repeated, so load from other work on the machine hits all of them alike.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from _common import REPO, Report, finish, fmt_ms, median, parser

EXTENSIONS = {
    "azmodels_magic": "azmodels_magic",
    "sql (jupysql)": "sql",
    "bigquery_magics": "bigquery_magics",
}

PROBE = r"""
import sys, time, json
t0 = time.perf_counter()
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
t1 = time.perf_counter()
shell.run_line_magic("load_ext", sys.argv[1])
t2 = time.perf_counter()
assert sys.argv[1] in shell.extension_manager.loaded, "not loaded"
print(json.dumps({"load_ext": t2 - t1, "ipython": t1 - t0}))
"""


def sample(module: str) -> dict[str, float]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        # jupysql's telemetry and version check would reach the network: off, so its figure is
        # its own start-up and not a network time-out.
        "PLOOMBER_STATS_ENABLED": "false",
        "PLOOMBER_VERSION_CHECK_DISABLED": "true",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, module],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"%load_ext {module} failed: {done.stderr.strip()[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, help="samples per extension (default 10, quick 3)")
    args = p.parse_args(argv)
    started = time.monotonic()
    repeat = args.repeat or (3 if args.quick else 10)
    report = Report(title="Start")

    available: dict[str, str] = {}
    for label, module in EXTENSIONS.items():
        try:
            sample(module)  # warm-up, untimed
            available[label] = module
        except RuntimeError as error:
            report.notes.append(f"{label} could not be measured: {error}")
    times: dict[str, list[float]] = {label: [] for label in available}
    ipython: list[float] = []
    for _ in range(repeat):
        for label, module in available.items():
            result = sample(module)
            times[label].append(result["load_ext"])
            ipython.append(result["ipython"])

    ours = median(times["azmodels_magic"])
    spread = lambda xs: f"min {fmt_ms(min(xs))}, max {fmt_ms(max(xs))}"  # noqa: E731
    report.add(
        "%load_ext azmodels_magic",
        fmt_ms(ours),
        detail=f"median of {repeat} fresh interpreters ({spread(times['azmodels_magic'])})",
    )
    for label in available:
        if label == "azmodels_magic":
            continue
        theirs = median(times[label])
        report.add(
            f"%load_ext {label}",
            fmt_ms(theirs),
            detail=f"median of {repeat} fresh interpreters ({spread(times[label])})",
        )
        report.add(
            f"azmodels_magic / {label}",
            f"{ours / theirs:.3f} x (1/{theirs / ours:.0f})",
            "<= 0.2 x (1/5)",
            ours <= theirs / 5,
            cause=(
                ""
                if ours <= theirs / 5
                else "the extension imports more at load time than the target allows"
            ),
        )
    report.notes.append(
        f"IPython's own start-up (InteractiveShell.instance(), not counted above): median "
        f"{fmt_ms(median(ipython))}."
    )
    report.notes.append(
        "jupysql runs with PLOOMBER_STATS_ENABLED=false and PLOOMBER_VERSION_CHECK_DISABLED=true "
        "(no network here)."
    )
    return finish(report, args, started)


if __name__ == "__main__":
    sys.exit(main())
