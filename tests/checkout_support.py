"""A copy of this checkout as a fresh clone would have it, and commands run in it."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {
    ".git",
    ".venv",
    "node_modules",
    "artifacts",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
}


def checkout_files() -> list[str]:
    """The files a clone would have (tracked, plus new files not ignored)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        return [f for f in out.decode().split("\0") if f and (ROOT / f).is_file()]
    except (OSError, subprocess.CalledProcessError):
        return [
            str(p.relative_to(ROOT))
            for p in ROOT.rglob("*")
            if p.is_file() and not SKIP_DIRS & set(p.relative_to(ROOT).parts)
        ]


def copy_checkout(repo: Path) -> Path:
    for name in checkout_files():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    return repo


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the project's, Python's and Jupyter's own settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "JUPYTER", "AZMODELS_", "VIRTUAL_ENV", "PYTEST_"))
    }
    env.update(extra)
    return env


def run(
    args: list[str], *, cwd: Path, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    took = time.monotonic() - started
    print(f"$ {' '.join(args)}  ({took:.0f} s, exit {result.returncode})")
    assert result.returncode == 0, (
        f"{' '.join(args)} failed ({result.returncode}):\n"
        f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return result
