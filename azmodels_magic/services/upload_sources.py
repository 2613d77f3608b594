"""What an upload's source folder may hold: checked before anything else happens.

- A symbolic link whose target lies outside the source folder would upload a file from
  elsewhere (a stray `ln -s ~/.ssh/id_rsa`, or a folder laid out by someone else): refused
  unless the user says --follow-symlinks. A Hugging Face cache snapshot is such a folder (its
  files link to ../../blobs). Links inside the folder are fine. Either way the plan shows
  every link's target. Symlinked folders are followed only with --follow-symlinks (files
  below them count as links); without it they are left out and named in the plan and the
  result.
- A file name becomes a blob name and is printed in plans, tables and errors: control
  characters (which can rewrite a terminal), bytes that are not UTF-8 and whatever storage's
  naming rules forbid or change (a backslash, a part ending in '.', too long, the name of the
  older uploads' manifest: `rules.blob_name_problem`) are refused, the name shown escaped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ValidationError
from ..rules import blob_name_problem
from ..weights import collect_files
from ..wording import escaped

if TYPE_CHECKING:
    from ..records import WeightFile


def _bad_name(name: str) -> str | None:
    """Why `name` cannot be a blob name, or None (storage's naming rules, in rules.py)."""
    return blob_name_problem(name)


def check_source(
    source: str | os.PathLike[str], *, follow_symlinks: bool, files: tuple[WeightFile, ...] = ()
) -> dict[str, str]:
    """Refuse hostile names and (unless `follow_symlinks`) links leading out of the folder;
    the links found: relative path -> the file they lead to. `files`: `collect_files(source)`
    when the caller has it already."""
    root = Path(os.path.abspath(os.path.expanduser(os.fspath(source))))
    files = files or collect_files(root)  # local only: no network call before this passes
    for file in files:
        why = _bad_name(file.relative)
        if why:
            raise ValidationError(
                f"The file name '{escaped(file.relative)}' {why}: rename it (or move it out of "
                "the folder), then upload again."
            )
    if not root.is_dir():
        return {}  # a single file: the user named it, link or not
    inside = os.path.realpath(root)
    links: dict[str, str] = {}
    outside: list[str] = []
    for file in files:
        # A link, or a file reached through a symlinked folder (followed when asked): either
        # way it is not where its name says, and the same rules hold.
        target = os.path.realpath(file.path)
        if target == os.path.join(inside, *file.relative.split("/")):
            continue
        links[file.relative] = target
        if os.path.commonpath([inside, target]) != inside:
            outside.append(file.relative)
    if outside and not follow_symlinks:
        first = outside[0]
        more = f" (and {len(outside) - 1} more)" if len(outside) > 1 else ""
        raise ValidationError(
            f"{escaped(first)}{more} is a symbolic link to {escaped(links[first])}, outside "
            f"{escaped(str(root))}: pass --follow-symlinks to upload what the links point at "
            "(a Hugging Face cache snapshot is laid out so), or copy the files into the folder."
        )
    return links
