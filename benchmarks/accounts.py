"""Lists across accounts: `deployments list --all-accounts` over 10 accounts x 100 deployments,
against a bare `requests` loop over the same accounts, one after another and all in parallel.

    python benchmarks/accounts.py            # 10 accounts x 100 deployments, 7 rounds
    python benchmarks/accounts.py --quick    # 3 accounts x 20 deployments, 3 rounds

It needs a sandbox that serves several accounts (`serve --accounts`) and the command
`deployments list --all-accounts`; without either it reports that it skipped, and why.
The accounts are found as a client finds them: ARM's list of the subscription's accounts.
Each round runs, in an order that rotates: the sequential bare loop, the parallel one (a thread
and a session per account), and `execute("deployments list --all-accounts")` with the cache
emptied; per-round ratios, medians. One untimed call of each first (imports, connections).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _common import REPO, Report, app_for, finish, fmt_ms, median, parser, sandbox
from lists import PROVIDER, Bare, pick_model


def accounts_option(count: int, override: str | None) -> tuple[list[str] | None, str]:
    """The sandbox's arguments for `count` accounts, or (None, why the sandbox can't)."""
    if override:
        return shlex.split(override), ""
    done = subprocess.run(
        [sys.executable, "-m", "azmodels_magic.sandbox", "serve", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    match = re.search(r"--accounts(?: ([A-Z_\[\]. ]+?))?(?:\s{2,}|\n)(.*)", done.stdout)
    if done.returncode != 0 or match is None:
        return None, "the sandbox has no --accounts option (`serve --help`)"
    metavar, text = (match.group(1) or "").strip(), match.group(2).lower()
    if metavar in ("N", "COUNT", "NUMBER") or "how many" in text or "number of" in text:
        return ["--accounts", str(count)], ""
    return ["--accounts", *(f"bench{i + 1:02d}" for i in range(count))], ""


class Accounts:
    """The subscription's accounts, from ARM, with the bare loops over their deployments."""

    def __init__(self, info: Any, api_version: str) -> None:
        self.bare = Bare(info, api_version)
        self.info = info
        self.api = api_version
        base = info.arm_endpoint.rstrip("/")
        url = (
            f"{base}/subscriptions/{info.subscription_id}/providers/{PROVIDER}/accounts"
            f"?api-version={api_version}"
        )
        items, _ = self.bare.items(url)
        self.ids = [item["id"] for item in items]
        self.locations = {item["id"]: item.get("location") or info.location for item in items}
        self.base = base

    def deployments_url(self, account_id: str) -> str:
        return f"{self.base}{account_id}/deployments?api-version={self.api}"

    def sequential(self) -> int:
        return sum(len(self.bare.items(self.deployments_url(a))[0]) for a in self.ids)

    def parallel(self, threads: int) -> int:
        def one(account_id: str) -> int:
            bare = Bare(self.info, self.api)  # its own session
            return len(bare.items(self.deployments_url(account_id))[0])

        with ThreadPoolExecutor(threads) as pool:
            return sum(pool.map(one, self.ids))

    def fill(self, per_account: int) -> float:
        """Create `per_account` deployments in every account (direct PUTs, 4 at a time)."""
        import requests

        catalogs: dict[str, tuple[dict, str]] = {}
        for location in set(self.locations.values()):
            url = (
                f"{self.base}/subscriptions/{self.info.subscription_id}/providers/{PROVIDER}/"
                f"locations/{location}/models?api-version={self.api}"
            )
            catalogs[location] = pick_model(self.bare.items(url)[0])
        jobs = [(a, i) for a in self.ids for i in range(per_account)]

        def put(job: tuple[str, int]) -> None:
            account_id, index = job
            model, sku = catalogs[self.locations[account_id]]
            session = requests.Session()
            session.headers.update(self.bare.session.headers)
            url = f"{self.base}{account_id}/deployments/bench-{index:05d}?api-version={self.api}"
            body = {"sku": {"name": sku, "capacity": 1}, "properties": {"model": model}}
            response = session.put(url, json=body, timeout=60)
            if response.status_code not in (200, 201):
                raise RuntimeError(f"PUT deployment: {response.status_code} {response.text[:300]}")

        started = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(put, jobs))
        return time.monotonic() - started


def skipped(report: Report, why: str, args: Any, started: float) -> int:
    report.add("deployments list --all-accounts", "skipped", detail=why)
    report.notes.append(f"Skipped: {why.rstrip('.')}.")
    print(f"accounts benchmark skipped: {why}", flush=True)
    return finish(report, args, started)


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.split("\n\n")[0])
    p.add_argument("--accounts", type=int, help="accounts (default 10, quick 3)")
    p.add_argument("--per-account", type=int, help="deployments each (default 100, quick 20)")
    p.add_argument("--rounds", type=int, help="interleaved rounds (default 7, quick 3)")
    p.add_argument("--threads", type=int, help="the parallel loop's threads (default: 1 each)")
    p.add_argument(
        "--sandbox-accounts",
        metavar="ARGS",
        help="the sandbox's arguments for the accounts, e.g. '--accounts 10' (default: from "
        "`serve --help`)",
    )
    args = p.parse_args(argv)
    started = time.monotonic()
    count = args.accounts or (3 if args.quick else 10)
    per_account = args.per_account or (20 if args.quick else 100)
    rounds = args.rounds or (3 if args.quick else 7)
    report = Report(title="Lists across accounts")

    option, why = accounts_option(count, args.sandbox_accounts)
    if option is None:
        return skipped(report, why, args, started)
    options = {
        "provision_seconds": 0,
        "extra_args": [*option, "--quota", f"GlobalStandard={count * per_account * 10}"],
    }
    try:
        box_context = sandbox(**options)
        box = box_context.__enter__()
    except Exception as error:
        return skipped(report, f"the sandbox did not start with {shlex.join(option)}: {error}",
                       args, started)  # fmt: skip
    try:
        info = box.info
        app = app_for(info)
        try:
            app.execute("deployments list --all-accounts")
        except Exception as error:
            return skipped(report, f"`deployments list --all-accounts` failed: {error}",
                           args, started)  # fmt: skip
        accounts = Accounts(info, app.arm_api_version)
        if len(accounts.ids) < 2:
            return skipped(report, f"the sandbox lists {len(accounts.ids)} account(s) with "
                           f"{shlex.join(option)}", args, started)  # fmt: skip
        created = accounts.fill(per_account)
        threads = args.threads or len(accounts.ids)
        expected = len(accounts.ids) * per_account

        def ours() -> int:
            app._cache.invalidate()
            return len(app.execute("deployments list --all-accounts").value)

        contenders = {
            "sequential": accounts.sequential,
            "parallel": lambda: accounts.parallel(threads),
            "ours": ours,
        }
        counts = {name: run() for name, run in contenders.items()}  # untimed warm-up
        times: dict[str, list[float]] = {name: [] for name in contenders}
        order = list(contenders)
        for index in range(rounds):
            shift = index % len(order)
            for name in order[shift:] + order[:shift]:
                begun = time.perf_counter()
                counts[name] = contenders[name]()
                times[name].append(time.perf_counter() - begun)
        app.close()
    finally:
        box_context.__exit__(None, None, None)

    listed = lambda xs: ", ".join(fmt_ms(x) for x in xs)  # noqa: E731
    shape = f"{len(accounts.ids)} accounts x {per_account}"
    report.add(
        f"bare requests loop, one account after another ({shape})",
        fmt_ms(median(times["sequential"])),
        detail=f"{counts['sequential']} deployments; per round {listed(times['sequential'])}",
    )
    report.add(
        f"bare requests loop, {threads} threads ({shape})",
        fmt_ms(median(times["parallel"])),
        detail=f"a session per thread; per round {listed(times['parallel'])}",
    )
    report.add(
        f"`%azmodels deployments list --all-accounts` ({counts['ours']} rows, cache cold)",
        fmt_ms(median(times["ours"])),
        detail=f"AzModels.execute(...) to a DataFrame; per round {listed(times['ours'])}",
    )
    if counts["ours"] < expected:
        report.notes.append(f"the command listed {counts['ours']} rows of {expected} deployments")
    speedup = [s / o for s, o in zip(times["sequential"], times["ours"], strict=True)]
    ceiling = [s / p for s, p in zip(times["sequential"], times["parallel"], strict=True)]
    report.add(
        "all accounts: speed-up over the sequential loop",
        f"{median(speedup):.2f} x",
        detail=f"median of per-round ratios {', '.join(f'{x:.2f}' for x in speedup)}; the "
        f"parallel bare loop's own: {median(ceiling):.2f} x (what concurrency gives here)",
    )
    vs_parallel = [o / p for o, p in zip(times["ours"], times["parallel"], strict=True)]
    r = median(vs_parallel)
    report.add(
        "all accounts / parallel bare loop",
        f"{r:.2f} x",
        "<= 1.3 x",
        r <= 1.3,
        detail="median of per-round ratios " + ", ".join(f"{x:.2f}" for x in vs_parallel),
        cause="" if r <= 1.3 else "not analysed yet: see the per-round figures",
    )
    report.notes.append(
        f"Sandbox started with {shlex.join(option)}; creating {expected} deployments by direct "
        f"PUTs took {created:.1f} s."
    )
    return finish(report, args, started)


if __name__ == "__main__":
    sys.exit(main())
