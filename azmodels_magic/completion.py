"""Tab completion for `%azmodels`: commands, flags, choices, and model / deployment names.

Commands and flags come from the grammar itself, so completion never disagrees with the parser;
what an argument's values are (a model, a deployment, a region...) is its `Kind` in the command
table, declared with the command. Names come from the services' short-lived cache
(`cache.peek`): completion never waits on the network for long. When a list is missing or older
than `cache_seconds`, a background thread reloads it (at most once per cache lifetime, or after
the cache was emptied by a change); a missing list is waited for at most `budget` seconds, a
stale one is used as it is.

Registered by `load_ipython_extension` with `shell.set_hook('complete_command', ...,
str_key='%azmodels')`; nothing heavy is imported until the first completion.
"""

from __future__ import annotations

import argparse
import os
import shlex
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from . import grammar, rules
from .commands.table import Argument, Kind

PREFIXES = ("%azmodels", "%%azmodels", "azmodels")


@dataclass
class _Refresh:
    """When a list was last asked for, and whether that worked."""

    attempted: float = float("-inf")
    failed: bool = False
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


class AzModelsCompleter:
    """The `complete_command` hook. `owner.app` is read at each completion (it may change)."""

    def __init__(
        self, owner: Any, *, budget: float = 0.5, clock: Callable[[], float] = time.monotonic
    ):
        self.owner = owner
        self.budget = budget
        self.clock = clock
        self._refresh: dict[tuple[int, str], _Refresh] = {}
        self._lock = threading.Lock()

    @property
    def app(self) -> Any:
        return getattr(self.owner, "app", self.owner)

    # IPython calls hooks as hook(shell, event); event.text_until_cursor is the line so far.
    def __call__(self, shell: Any, event: Any) -> list[str]:
        try:
            return self.complete(event.text_until_cursor)
        except Exception:  # completion must never break the prompt
            return []

    # -- the line -------------------------------------------------------------------------------

    def complete(self, text: str) -> list[str]:
        """Candidates for the word being typed at the end of `text` (the line up to the cursor)."""
        words, current = _split(text)
        if not words or words[0] not in PREFIXES:
            return []
        parser: argparse.ArgumentParser = grammar.build_parser()
        rest = words[1:]
        while rest:  # down to the command's own parser
            sub = _subcommands(parser)
            if sub is None or rest[0] not in sub.choices:
                break
            parser = sub.choices[rest.pop(0)]
        sub = _subcommands(parser)
        if sub is not None:  # a command (or a group's action) comes next
            if rest:
                return []
            return _starting(list(sub.choices), current)

        if current.startswith("--") and "=" in current:
            flag, _, partial = current.partition("=")
            action = _option(parser, flag)
            if action is None:
                return []
            return _starting(self.values(parser, action, rest), partial)
        previous = rest[-1] if rest else None
        action = _option(parser, previous) if previous else None
        if action is not None and action.nargs != 0 and not _is_nargs_plus(action):
            if _kind(parser, action) is Kind.LOCAL_PATH:
                return _paths(current)
            return _starting(self.values(parser, action, rest), current)
        if current.startswith("-"):
            return _starting(_flags(parser, rest), current)
        positional = _free_positional(parser, rest)
        if positional is not None:
            return _starting(self.values(parser, positional, rest), current)
        if action is not None and _is_nargs_plus(action):
            if _kind(parser, action) is not Kind.TEXT:  # quota --region R ...
                return _starting(self.values(parser, action, rest), current)
            return []  # free text (tags), the user is typing values
        return _starting(_flags(parser, rest), current)

    # -- values ---------------------------------------------------------------------------------

    def values(
        self, parser: argparse.ArgumentParser, action: argparse.Action, rest: list[str]
    ) -> list[str]:
        """What may follow an option (or fill a positional) of the command `parser` reads;
        `rest` is what was typed after the command's words."""
        if action.choices:
            return [str(c) for c in action.choices]
        kind = _kind(parser, action)
        if kind is Kind.MODEL:
            return self.model_names()
        if kind is Kind.CUSTOM_MODEL:
            return self.model_names(base=False)
        if kind is Kind.BASE_MODEL:
            return self.model_names(custom=False)
        if kind is Kind.DEPLOYMENT:
            return self.deployment_names()
        if kind is Kind.UPLOAD_PATH:
            return self.upload_paths()
        if kind is Kind.ACCOUNT:
            return sorted((a.name for a in self._cached("accounts")), key=str.lower)
        if kind is Kind.REGION:
            return self._cached("regions")
        model = _model_on_line(parser, rest)
        if not model:
            return []
        if kind is Kind.NEW_DEPLOYMENT:
            return self.free_deployment_names(model)
        if kind is Kind.VERSION:
            return self.versions(model)
        if kind is Kind.SKU:
            return self.skus(model)
        if kind is Kind.MODEL_FORMAT:
            return self.model_formats(model)
        return []

    def model_names(self, *, base: bool = True, custom: bool = True) -> list[str]:
        names: set[str] = set()
        if custom:
            names.update(m.name for m in self._cached("custom"))
        if base:
            names.update(m.name for m in self._cached("catalog"))
        return sorted(names, key=str.lower)

    def deployment_names(self) -> list[str]:
        return sorted((d.name for d in self._cached("deployments")), key=str.lower)

    def free_deployment_names(self, model: str | None) -> list[str]:
        """For `deploy --deployment-name`: a free name made from the model's name."""
        if not model:
            return []
        taken = {name.lower() for name in self.deployment_names()}
        stem = rules.suggest_deployment_name(model)
        for n in range(1, 100):
            candidate = stem if n == 1 else f"{stem}-{n}"
            if candidate.lower() not in taken:
                return [candidate]
        return []

    def versions(self, model: str) -> list[str]:
        wanted = model.lower()
        found = [m.version for m in self._cached("custom") if m.name.lower() == wanted]
        found += [m.version for m in self._cached("catalog") if m.name.lower() == wanted]
        return list(dict.fromkeys(v for v in found if v))

    def skus(self, model: str) -> list[str]:
        wanted = model.lower()
        customs = [m for m in self._cached("custom") if m.name.lower() == wanted]
        if customs:  # what its base model's catalog entry offers, else the evidence's default
            offered = self.app.deployments.skus_for(customs[-1])
            return list(dict.fromkeys([s.name for s in offered] or [rules.CUSTOM_SKU]))
        names = [
            s.name for m in self._cached("catalog") if m.name.lower() == wanted for s in m.skus
        ]
        return list(dict.fromkeys(names))

    def model_formats(self, model: str) -> list[str]:
        """The format a deploy of `model` sends by default: its catalog format(s), or
        FireworksCustom for a custom model."""
        wanted = model.lower()
        if any(m.name.lower() == wanted for m in self._cached("custom")):
            return [rules.CUSTOM_FORMAT]
        found = [m.format for m in self._cached("catalog") if m.name.lower() == wanted]
        return list(dict.fromkeys(found))

    def upload_paths(self) -> list[str]:
        try:
            journals = self.app.uploads.journals()
        except Exception:
            return []
        return sorted(f"{j.name}/{j.version}" for j in journals)

    # -- the cache ------------------------------------------------------------------------------

    def _loader(self, key: str) -> Callable[[], Any]:
        app = self.app
        return {
            "catalog": lambda: app.models.catalog(),
            "custom": lambda: app.models.custom_models(),
            "deployments": lambda: app.deployments.all(),
            "accounts": lambda: _quota(app).accounts(),
            "regions": lambda: _quota(app).all_regions(),
        }[key]

    def _cached(self, key: str) -> list[Any]:
        """The cached list (even stale); reload it in the background when due."""
        app = self.app
        cache = app.models.cache
        value = cache.peek(key)
        now = self.clock()
        lifetime = max(float(getattr(app, "cache_seconds", 30.0)), 1.0)
        with self._lock:
            state = self._refresh.setdefault((id(app), key), _Refresh())
            due = now - state.attempted >= lifetime
            if not state.running and (due or (value is None and not state.failed)):
                state.attempted = now
                state.thread = threading.Thread(
                    target=self._load, args=(state, self._loader(key)),
                    name=f"azmodels-complete-{key}", daemon=True,
                )  # fmt: skip
                state.thread.start()
            thread = state.thread
        if value is None and thread is not None and thread.is_alive():
            thread.join(self.budget)
            value = cache.peek(key)
        return list(value or [])

    @staticmethod
    def _load(state: _Refresh, load: Callable[[], Any]) -> None:
        try:
            load()  # the service's own cache: network only when the list is stale
        except Exception:
            state.failed = True
        else:
            state.failed = False


# -- grammar helpers ------------------------------------------------------------------------------


def _quota(app: Any) -> Any:
    return app.quota


def _split(text: str) -> tuple[list[str], str]:
    """Words before the cursor's word, and the word being typed ('' after a space)."""
    try:
        words = shlex.split(text)
    except ValueError:  # an open quote: complete inside it as if it were closed
        words = text.split()
    if not text or text[-1].isspace():
        return words, ""
    return words[:-1], words[-1] if words else ""


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def _option(parser: argparse.ArgumentParser, word: str | None) -> argparse.Action | None:
    if not word or not word.startswith("-"):
        return None
    return parser._option_string_actions.get(word)


def _is_nargs_plus(action: argparse.Action) -> bool:
    return action.nargs in ("+", "*")


def _flags(parser: argparse.ArgumentParser, used_words: Iterable[str]) -> list[str]:
    used = {w.partition("=")[0] for w in used_words if w.startswith("-")}
    flags: list[str] = []
    for action in parser._actions:
        strings = [s for s in action.option_strings if s.startswith("--")] or action.option_strings
        if not strings or any(s in used for s in action.option_strings):
            continue
        flags.append(strings[0])
    help_flags = [f for f in flags if f == "--help"]
    return [f for f in flags if f != "--help"] + help_flags


def _argument(parser: argparse.ArgumentParser, action: argparse.Action) -> Argument | None:
    """The command table's declaration behind one of the grammar's actions."""
    return getattr(parser, "argument_of", {}).get(action.dest)


def _kind(parser: argparse.ArgumentParser, action: argparse.Action) -> Kind:
    argument = _argument(parser, action)
    return argument.kind if argument is not None else Kind.TEXT


def _bare_words(parser: argparse.ArgumentParser, rest: list[str]) -> list[str]:
    """The words of `rest` that are not options or option values."""
    words: list[str] = []
    skip = False
    for word in rest:
        if skip:
            skip = False
            continue
        if word.startswith("-"):
            action = _option(parser, word.partition("=")[0])
            skip = action is not None and action.nargs != 0 and "=" not in word
            continue
        words.append(word)
    return words


def _free_positional(parser: argparse.ArgumentParser, rest: list[str]) -> argparse.Action | None:
    """The positional argument still to be given (e.g. show's NAME), if any: not when its
    `--name` form was given."""
    flagged = {w.partition("=")[0] for w in rest if w.startswith("-")}
    positionals = [a for a in parser._actions if not a.option_strings and a.nargs != 0]
    given = len(_bare_words(parser, rest))
    if given >= len(positionals):
        return None
    action = positionals[given]
    argument = _argument(parser, action)
    return None if argument is not None and argument.flag in flagged else action


def _model_on_line(parser: argparse.ArgumentParser, rest: list[str]) -> str | None:
    """The model the line names (`--name M`, `--name=M` or the bare word): a version, SKU or
    format is completed for it."""
    for action in parser._actions:
        argument = _argument(parser, action)
        if argument is None or not argument.kind.names_a_model:
            continue
        if action.option_strings:
            for index, word in enumerate(rest):
                if word in action.option_strings and index + 1 < len(rest):
                    return rest[index + 1]
                if word.partition("=")[0] in action.option_strings and "=" in word:
                    return word.partition("=")[2]
        else:
            bare = _bare_words(parser, rest)
            if bare:
                return bare[0]
    return None


def _paths(prefix: str) -> list[str]:
    """Files and folders starting with `prefix` (folders end with '/'), as a shell completes them.

    Listed here rather than through IPython's file matcher, whose API changed between releases.
    """
    folder, _, start = prefix.rpartition("/")
    base = os.path.expanduser(folder + "/" if folder or prefix.startswith("/") else ".")
    try:
        entries = sorted(os.scandir(base), key=lambda e: e.name)
    except OSError:
        return []
    head = prefix[: len(prefix) - len(start)]
    found = []
    for entry in entries:
        if not entry.name.startswith(start) or (entry.name.startswith(".") and not start):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        found.append(head + entry.name + ("/" if is_dir else ""))
    return found


def _starting(candidates: Iterable[str], prefix: str) -> list[str]:
    return [c for c in candidates if c.startswith(prefix)] or [
        c for c in candidates if c.lower().startswith(prefix.lower())
    ]


def _matcher(completer: AzModelsCompleter) -> Callable[[Any], dict[str, Any]]:
    """An IPython (8.6+) API v2 matcher: our candidates, and nothing else, on `%azmodels` lines.

    The `complete_command` hook alone would leave Jedi's Python names (`and`, `abs`, ...) mixed
    into the completions Jupyter shows; a v2 result can suppress every competing matcher.
    """

    def azmodels_matcher(context: Any) -> dict[str, Any]:
        line = context.text_until_cursor
        if context.cursor_line > 0:  # inside a %%azmodels cell: each line is one command
            first = context.full_text.split("\n", 1)[0].strip()
            if first.split()[:1] == ["%%azmodels"] and not line.lstrip().startswith("#"):
                line = "%azmodels " + line.lstrip()
        if line.lstrip().split()[:1] not in ([p] for p in PREFIXES):
            return {"completions": [], "suppress": False}
        from IPython.core.completer import SimpleCompletion

        found = completer.complete(line.lstrip())
        return {
            "completions": [SimpleCompletion(text=c, type="azmodels") for c in found],
            "suppress": bool(found),
            "ordered": True,
        }

    azmodels_matcher.matcher_api_version = 2  # type: ignore[attr-defined]
    azmodels_matcher.matcher_priority = 0  # type: ignore[attr-defined]
    azmodels_matcher.matcher_identifier = "azmodels_magic.completion"  # type: ignore[attr-defined]
    azmodels_matcher.azmodels = True  # type: ignore[attr-defined]
    return azmodels_matcher


def register(shell: Any, owner: Any) -> AzModelsCompleter:
    """Hook completion into `shell` for `%azmodels` lines and `%%azmodels` cells (once).

    Two ways in: the `complete_command` hook (IPython's classic custom completer, used by
    `shell.complete`), and a v2 matcher that also keeps Jedi's names out of the list.
    """
    unregister(shell)
    completer = AzModelsCompleter(owner)
    for key in ("%azmodels", "%%azmodels"):
        shell.set_hook("complete_command", completer, str_key=key)
    completer_obj = getattr(shell, "Completer", None)
    if completer_obj is not None and hasattr(completer_obj, "custom_matchers"):
        completer_obj.custom_matchers.append(_matcher(completer))
    shell._azmodels_completer = completer
    return completer


def unregister(shell: Any) -> None:
    dispatcher = getattr(shell, "strdispatchers", {}).get("complete_command")
    if dispatcher is not None:
        for key in ("%azmodels", "%%azmodels"):
            dispatcher.strs.pop(key, None)
    completer_obj = getattr(shell, "Completer", None)
    matchers = getattr(completer_obj, "custom_matchers", None)
    if matchers is not None:
        matchers[:] = [m for m in matchers if not getattr(m, "azmodels", False)]
    if hasattr(shell, "_azmodels_completer"):
        del shell._azmodels_completer
