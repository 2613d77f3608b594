"""`python -m azmodels_magic.demo`: start the sandbox and show the base catalog (no Azure)."""

from __future__ import annotations


def main() -> None:
    from .api import AzModels
    from .presentation.tables import frame_text

    with AzModels.sandbox(progress=False) as az:
        outcome = az.execute("list --type base")
        print(outcome.message)
        print(frame_text(outcome.value[["name", "version", "publisher", "status", "skus"]]))


if __name__ == "__main__":
    main()
