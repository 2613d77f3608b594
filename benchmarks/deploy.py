"""Deploy round trips: the HTTP requests one `deploy` sends, with progress on and off, counted
where they arrive (the sandbox's own request log), against the least it takes.

    python benchmarks/deploy.py            # 5 rounds, deployments provisioning in 3 s
    python benchmarks/deploy.py --quick    # 2 rounds, 1 s

The least a deploy that waits takes: is the name free (GET, 404), create (PUT), the operation's
polls, and the deployment read back (GET): 3 + polls. Each round deploys the same catalog model
with progress off, then on (the order alternates), into fresh deployment names, with the catalog
already cached (a session lists before it deploys); the first deploy of a fresh session, catalog
not cached, is reported apart. Deployments are removed untimed after each round.
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from collections import Counter
from typing import Any

from _common import Logged, Report, RequestLog, app_for, finish, median, parser, sandbox
from lists import Bare, pick_model


def kind(request: Logged) -> str:
    """What a logged request was for, in the words of the table."""
    path = request.path
    if "/operationStatuses/" in path or "/operationResults/" in path:
        return "poll"
    if "/deployments/" in path:
        return f"{request.method} deployment"
    if path.endswith("/models") and "/locations/" in path:
        return "catalog page"
    if "/api/projects/" in path and path.endswith("/versions"):
        return "custom-model lookup (GET .../models/NAME/versions)"
    if "/accounts/" in path and "/" not in path.split("/accounts/", 1)[1]:
        return "GET account"
    return f"{request.method} {path.rsplit('/', 1)[-1]}"


def counted(requests: list[Logged]) -> Counter[str]:
    return Counter(kind(r) for r in requests)


def shown(counts: Counter[str]) -> str:
    return ", ".join(f"{n} {what}" for what, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def deploy(app: Any, log: RequestLog, model: dict, sku: str, name: str) -> tuple[list, float]:
    """One `deploy` through the command layer; (the requests the sandbox saw, wall seconds)."""
    command = (
        f"deploy --name {model['name']} --version {model['version']} --sku {sku} --capacity 1 "
        f"--deployment-name {name}"
    )
    mark = log.mark()
    started = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):  # the progress bar, when on
        app.execute(command)
    seconds = time.perf_counter() - started
    return log.since(mark), seconds


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, help="rounds of off + on (default 5, quick 2)")
    p.add_argument("--provision-seconds", type=float, help="sandbox provisioning (3, quick 1)")
    args = p.parse_args(argv)
    started = time.monotonic()
    rounds = args.rounds or (2 if args.quick else 5)
    provision = args.provision_seconds or (1.0 if args.quick else 3.0)
    report = Report(title="Deploy")

    options = {"provision_seconds": provision, "extra_args": ["--quota", "GlobalStandard=1000"]}
    with sandbox(**options) as box:
        info = box.info
        log = RequestLog(box.log_path)
        apps = {"off": app_for(info), "on": app_for(info)}
        apps["on"].progress = True
        bare = Bare(info, apps["off"].arm_api_version)
        model, sku = pick_model(bare.items(bare.catalog_url)[0])
        made: list[str] = []

        def remove() -> None:
            for name in made:
                url = f"{bare.account}/deployments/{name}?api-version={bare.api}"
                bare.session.delete(url, timeout=60)
            made.clear()

        cold, cold_seconds = deploy(apps["off"], log, model, sku, "bench-cold")
        deploy(apps["on"], log, model, sku, "bench-warm-up")  # the same start for both apps
        made += ["bench-cold", "bench-warm-up"]
        remove()
        runs: dict[str, list[tuple[Counter[str], float]]] = {"off": [], "on": []}
        for index in range(rounds):
            for mode in ("off", "on") if index % 2 == 0 else ("on", "off"):
                name = f"bench-{mode}-{index + 1}"
                requests, seconds = deploy(apps[mode], log, model, sku, name)
                made.append(name)
                runs[mode].append((counted(requests), seconds))
            remove()
        for app in apps.values():
            app.close()

    cold_counts = counted(cold)
    for mode in ("off", "on"):
        totals = [sum(c.values()) for c, _ in runs[mode]]
        polls = [c["poll"] for c, _ in runs[mode]]
        beyond = [t - p for t, p in zip(totals, polls, strict=True)]
        typical = runs[mode][totals.index(sorted(totals)[len(totals) // 2])][0]
        detail = (
            f"per round {', '.join(str(t) for t in totals)} requests "
            f"({', '.join(str(p) for p in polls)} polls); a typical one: {shown(typical)}; "
            f"wall time per deploy {median([s for _, s in runs[mode]]):.1f} s"
        )
        if mode == "on":
            report.add(
                "deploy with progress on: requests besides the polls",
                f"{median(beyond):.0f} + {median(polls):.0f} polls",
                detail=detail,
            )
            continue
        extra = median(beyond) - 3
        row = report.add(
            "deploy with progress off: requests besides the polls",
            f"{median(beyond):.0f} + {median(polls):.0f} polls",
            "3 + polls",
            extra <= 0,
            detail=detail,
        )
        if not row.passed:
            row.cause = off_cause(typical)
    report.add(
        "first deploy of a session (catalog not cached)",
        f"{sum(cold_counts.values())} requests",
        detail=f"{shown(cold_counts)}; {cold_seconds:.1f} s",
    )
    report.notes.append(
        f"Sandbox provisioning time {provision:g} s (it asks for polls every "
        f"{min(1000, max(50, provision * 250)):.0f} ms); one GlobalStandard deployment of "
        f"{model['name']} {model['version']}, capacity 1, per deploy."
    )
    return finish(report, args, started)


def off_cause(counts: Counter[str]) -> str:
    """Name the requests beyond the least, from one round's counts."""
    gets = counts["GET deployment"]
    parts = []
    if gets > 2 and counts["poll"]:
        parts.append(
            f"{gets} GETs of the deployment where 2 suffice (is the name free, the read-back): "
            "the command passes its status callback even with progress off, and the wait reads "
            "the deployment's own state after every poll to report it"
        )
    least = ("poll", "GET deployment", "PUT deployment")
    others = {k: n for k, n in counts.items() if k not in least}
    if others:
        parts.append("also " + shown(Counter(others)))
    return "; ".join(parts) or f"requests seen: {shown(counts)}"


if __name__ == "__main__":
    sys.exit(main())
