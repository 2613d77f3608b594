"""The rules every way in checks alike: names, versions, tags, capacities, formats, statuses.

The grammar (argparse `type=` callables), the services, the forms and the Python API all use these,
so a value is refused the same way whichever front end it came from, before any network call.
"""

from __future__ import annotations

import argparse
import builtins
import collections.abc
import fnmatch
import functools
import inspect
import keyword
import os
import re
import types
import typing
from collections.abc import Callable
from typing import Any

from .errors import ValidationError
from .records import META_PREFIX
from .wording import did_you_mean

# Whole-string rules: `\Z` and fullmatch, never `$` (it also matches before a trailing newline,
# so "d\n" would pass and then could not be addressed).
MODEL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,29}\Z")
VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,29}\Z")
DEPLOYMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}\Z")
TAG_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,128}\Z")
VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
FORMATS = ("safetensors", "gguf", "onnx", "pytorch")
WEIGHT_TYPES = ("FullWeight", "LoRA", "DraftModel")
TYPES = ("base", "custom")
STATUSES = ("running", "stopped", "failed", "creating")
MAX_CAPACITY = 1_000_000
# ARM's modelCapacities takes modelFormat only in this shape (cognitiveservices.json 2025-06-01):
# formats with a space (Mistral AI, AI21 Labs, Black Forest Labs) cannot be asked about.
CAPACITY_QUERY_FORMAT = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*\Z")
# A deployment's model.format as catalogs spell them (OpenAI, Mistral AI, FireworksCustom).
MODEL_FORMAT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}\Z")
# Custom-weight deployments, from the only evidence there is (EVIDENCE.md section 4): azd PR 7283
# (8f6041a0) deploys `--model-format FireworksCustom --sku-name GlobalProvisionedManaged
# --sku-capacity 80`, and a hands-on report's refusal of that deploy names the quota "Global
# Provisioned Managed Throughput Unit - Fireworks", ARM's localized name of the usage below
# (canadacentral usages, tests/fixtures/azure/recordings/regions.json.gz).
CUSTOM_FORMAT = "FireworksCustom"
CUSTOM_SKU = "GlobalProvisionedManaged"
CUSTOM_CAPACITY = 80
CUSTOM_PTU_USAGE = "AIServices.GlobalProvisionedManaged.Fireworks"


# -- value checks (argparse `type=` callables: their message becomes the usage error) -----------


def _matching(pattern: re.Pattern[str], what: str, rule: str) -> Callable[[str], str]:
    """A check that `value` matches `pattern`; its complaint names the value and the rule."""

    def check_value(value: str) -> str:
        if not pattern.fullmatch(value):
            raise argparse.ArgumentTypeError(f"'{value}' is not a valid {what}: {rule}")
        return value

    check_value.__name__ = what.replace(" ", "_")
    return check_value


model_name = _matching(
    MODEL_NAME, "model name",
    "use 2-30 characters, start with a letter, then letters, digits or '-'",
)  # fmt: skip
version = _matching(
    VERSION, "version",
    "use 1-30 letters, digits, '.', '-' or '_', starting with a letter or digit "
    "(e.g. 1 or 2024-11-20)",
)  # fmt: skip
model_format = _matching(
    MODEL_FORMAT, "model format",
    "use 1-64 letters, digits, spaces, '.', '-' or '_' (e.g. FireworksCustom)",
)  # fmt: skip
deployment_name = _matching(
    DEPLOYMENT_NAME, "deployment name",
    "use 2-64 letters, digits, '.', '-' or '_', starting with a letter or digit",
)  # fmt: skip


def capacity(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"capacity must be a whole number, got '{value}'"
        ) from None
    if number < 1 or number > MAX_CAPACITY:
        raise argparse.ArgumentTypeError(
            f"capacity must be between 1 and {MAX_CAPACITY:,}, got {number}"
        )
    return number


def tag(value: str) -> tuple[str, str]:
    key, sep, text = value.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"tag '{value}' must look like key=value")
    return tag_key(key), _tag_value(key, text)


def tag_key(key: str) -> str:
    if not TAG_KEY.fullmatch(key):
        raise argparse.ArgumentTypeError(
            f"tag key '{key}' is invalid: 1-128 letters, digits, '_', '.' or '-'"
        )
    if key.lower().startswith(META_PREFIX):
        raise argparse.ArgumentTypeError(
            f"tag key '{key}' is reserved: keys starting with '{META_PREFIX}' are azmodels' own"
        )
    return key


def _tag_value(key: str, text: str) -> str:
    if len(text) > 256:
        raise argparse.ArgumentTypeError(f"tag '{key}' is longer than 256 characters")
    return text


# Names `-o` must not take: a builtin (`print`, `__builtins__`), a keyword, a dunder, or one
# IPython keeps (its history and output caches): storing a table there breaks the session.
_IPYTHON_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "_", "__", "___", "_i",
                            "_ii", "_iii", "_ih", "_oh", "_dh", "_sh"})  # fmt: skip
_IPYTHON_NUMBERED = re.compile(r"_i{0,3}\d+\Z")


def var_name(value: str) -> str:
    if not VAR_NAME.fullmatch(value):
        raise argparse.ArgumentTypeError(f"'{short(value)}' is not a Python variable name")
    if (
        keyword.iskeyword(value)
        or hasattr(builtins, value)
        or (value.startswith("__") and value.endswith("__"))
        or value in _IPYTHON_NAMES
        or _IPYTHON_NUMBERED.fullmatch(value)
    ):
        raise argparse.ArgumentTypeError(
            f"'{value}' would hide a name Python or IPython needs: choose another variable name"
        )
    return value


def fraction(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got '{value}'") from None
    if not 0 <= number <= 1:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {number}")
    return number


def non_negative_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{value}'") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {number}")
    return number


def problem(checker: Callable[[str], object], value: str) -> str | None:
    """A value check's complaint as one sentence, or None when the value is fine (for forms)."""
    try:
        checker(value)
    except argparse.ArgumentTypeError as exc:
        text = str(exc)
        return text[:1].upper() + text[1:] + "."
    return None


def check(checker: Callable[[str], object], value: str) -> None:
    """A value check for the Python API and the services: its complaint is a ValidationError."""
    if not isinstance(value, str):  # the command line only ever gives text; the API may not
        what = checker.__name__.replace("_", " ")
        raise ValidationError(f"The {what} must be text, got {type(value).__name__} {value!r}.")
    complaint = problem(checker, value)
    if complaint:
        raise ValidationError(complaint)


# -- the same rules for values given as Python objects (the API, forms, services) -------------


def check_tags(tags: object, *, what: str = "tags") -> dict[str, str]:
    """Tags as the Python API may give them: a dict of text keys and text values, each under the
    rules `--tags k=v` follows (a key cannot hold '=', a value is text, not a number)."""
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise ValidationError(
            f"{what} must be a dict of text keys and values, e.g. {{'team': 'nlp'}}."
        )
    for key, value in tags.items():
        if not isinstance(key, str):
            raise ValidationError(f"Tag key {key!r} must be text, not {type(key).__name__}.")
        check(tag_key, key)  # '=' and anything else a key cannot hold
        if not isinstance(value, str):
            raise ValidationError(
                f"Tag '{key}' has a {type(value).__name__} value ({value!r}): tag values are "
                f"text, e.g. {{'{key}': '{value}'}}."
            )
        check(lambda text, key=key: _tag_value(key, text), value)
    return dict(tags)


def check_tag_keys(keys: object) -> list[str]:
    if keys is None:
        return []
    if isinstance(keys, str) or not isinstance(keys, list | tuple | set):
        raise ValidationError("Tag keys to remove must be a list of text, e.g. ['team'].")
    for key in keys:
        if not isinstance(key, str):
            raise ValidationError(f"Tag key {key!r} must be text, not {type(key).__name__}.")
        check(tag_key, key)
    return list(keys)


def check_capacity(value: object) -> int:
    """A capacity as the Python API may give it: a whole number (not text, not a bool), in the
    range `--capacity` accepts."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(
            f"Capacity must be a whole number, got {type(value).__name__} {value!r}"
            + (
                f": use capacity={value.strip()}."
                if isinstance(value, str) and value.strip().isdigit()
                else "."
            )
        )
    check(capacity, str(value))
    return value


def check_choice(value: object, choices: tuple[str | None, ...], what: str) -> None:
    """One of `choices` (as `--type`, `--status`, `--weight-type` accept), or a ValidationError."""
    if value not in choices:
        named = ", ".join(str(c) for c in choices if c is not None)
        raise ValidationError(f"{what} {value!r} is not one of {named}.")


# -- blob names: a file's path in the folder is its blob's name ---------------------------------
# Azure Storage's rules ("Naming and Referencing Containers, Blobs, and Metadata"): at most 1,024
# characters and 254 path segments, no segment ending in '.', no control characters or code
# points that are not characters. A backslash is legal but some clients (Azurite, Storage
# Explorer) turn it into '/': the blob would never be listed under its file's name, so every
# verification of it fails. Refused before anything is sent (the plan and dry run too).
MAX_BLOB_NAME = 1024
MAX_BLOB_SEGMENTS = 254
# Older uploads kept their SHA-256s in a blob of this name at the folder's top, which `show` and
# the verifier still read as such: a user's file of that name would be taken for it.
LEGACY_MANIFEST = "azmodels-manifest.json"
_NOT_CHARACTERS = re.compile("[\ue000-\uf8ff\ufdd0-\ufdef\ufffe\uffff]")


def blob_name_problem(name: str) -> str | None:
    """Why the file at `name` (its '/'-separated path in the folder) cannot be stored under that
    blob name, said after "The file name '...'"; None when it can."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    if any(not ch.isprintable() and ch != " " for ch in name):
        return "has a control character in it"
    if "\\" in name:
        return (
            "has a backslash, which storage clients may turn into '/': it would not be stored "
            "under its own name"
        )
    if len(name) > MAX_BLOB_NAME:
        return f"is {len(name):,} characters long: storage takes at most {MAX_BLOB_NAME:,}"
    segments = name.split("/")
    if len(segments) > MAX_BLOB_SEGMENTS:
        return f"is {len(segments)} folders deep: storage takes at most {MAX_BLOB_SEGMENTS}"
    if any(not s or s.endswith(".") for s in segments):
        return "has a part that ends in '.' (or is empty), which storage's naming rules forbid"
    found = _NOT_CHARACTERS.search(name)
    if found:
        return f"holds U+{ord(found.group()):04X}, which storage does not accept in a name"
    if name == LEGACY_MANIFEST:
        return (
            "is the name azmodels' older uploads gave their manifest, which storage readers "
            "take for one (not a weights file)"
        )
    return None


def is_custom_format(model_format: str) -> bool:
    """A format for custom weights, which deploys with model.source = the project (azd PR 7283's
    isCustomModelFormat: the format contains "custom" or "safetensors")."""
    lowered = model_format.lower()
    return "custom" in lowered or "safetensors" in lowered


def base_model_name(base_model: str) -> str:
    """The model name of a base-model asset id (`azureml://registries/R/models/NAME/versions/N`)
    or a bare name as azd takes it; "" when there is none."""
    parts = base_model.strip().rstrip("/").split("/")
    if "models" in parts[:-1]:
        return parts[parts.index("models") + 1]
    return parts[-1] if len(parts) == 1 else ""


def capacity_queryable(model_format: str) -> bool:
    """Whether ARM's modelCapacities can be asked about models of this format."""
    return bool(CAPACITY_QUERY_FORMAT.fullmatch(model_format))


def suggest_deployment_name(model_name: str) -> str:
    """A valid deployment name made from a model's name (what forms and next steps offer)."""
    cleaned = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in model_name.lower())
    return cleaned[:60].strip("-._") or "my-deployment"


# -- arguments of the Python API: typed, as the command line's are -----------------------------


def checked_arguments(cls: type) -> type:
    """Check every public method's arguments of a service class against its annotations: a
    misspelt keyword, a missing argument or a value of the wrong type (a version as a float, a
    name as a number) is one ValidationError before anything runs, never a TypeError (or a
    float quietly turned into text) from deep inside."""
    for attr, member in list(vars(cls).items()):
        if not attr.startswith("_") and inspect.isfunction(member):
            setattr(cls, attr, checked(member))
    return cls


def checked(func: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(func)
    names = [n for n in signature.parameters if n != "self"]
    hints: dict[str, Any] = {}

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise _call_error(func.__name__, names, kwargs, exc) from None
        if not hints:
            hints.update(_hints(func, signature))
        for name, value in bound.arguments.items():
            hint = hints.get(name)
            if hint is not None and _accepts(value, hint) is False:
                raise ValidationError(_wrong_type(func.__name__, name, value, hint))
        return func(*args, **kwargs)

    return wrapper


def _hints(func: Callable[..., Any], signature: inspect.Signature) -> dict[str, Any]:
    """Each parameter's annotation, evaluated; one that cannot be (a name imported only for
    type checking) is left unchecked."""
    found: dict[str, Any] = {"self": Any}
    for name, param in signature.parameters.items():
        note = param.annotation
        if isinstance(note, str):
            try:
                note = eval(note, func.__globals__)  # our own annotations, not input
            except Exception:  # a name imported only for type checking: not checked
                note = Any
        found[name] = Any if note is inspect.Parameter.empty else note
    return found


def _accepts(value: object, hint: Any) -> bool | None:
    """Whether `value` fits `hint`; None when the hint says too little to tell."""
    if hint is Any:
        return None
    if hint is None or hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        verdicts = [_accepts(value, h) for h in typing.get_args(hint)]
        return True if True in verdicts else (None if None in verdicts else False)
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    target = origin or hint
    if target is float:  # a whole number is a number of seconds too; a bool is not
        return isinstance(value, int | float) and not isinstance(value, bool)
    if target is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if target is str:
        return isinstance(value, str)
    if target in _COLLECTIONS:  # any of them where one is asked for, never a lone string
        return isinstance(value, list | tuple | set | frozenset)
    if target is collections.abc.Callable:
        return callable(value)
    if isinstance(target, type):
        try:
            return isinstance(value, target)
        except TypeError:  # a Protocol that is not runtime-checkable
            return None
    return None


_COLLECTIONS = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Collection)


def _describe(hint: Any) -> str:
    words = {str: "text", int: "a whole number", float: "a number", bool: "True or False",
             dict: "a dict", list: "a list", type(None): "None", os.PathLike: "a path"}  # fmt: skip
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        parts = [_describe(h) for h in typing.get_args(hint)]
        return " or ".join(dict.fromkeys(p for p in parts if p))
    target = origin or hint
    return words.get(target, getattr(target, "__name__", "")) if target is not Any else ""


def _wrong_type(func: str, name: str, value: object, hint: Any) -> str:
    shown = short(repr(value))
    text = f"{func}(): {name} must be {_describe(hint)}, got {type(value).__name__} {shown}"
    if "version" in name and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{text}: write it as text, {name}={str(value)!r}."
    return text + "."


def _call_error(
    func: str, names: list[str], kwargs: dict[str, Any], exc: TypeError
) -> ValidationError:
    unknown = [k for k in kwargs if k not in names]
    if unknown:
        return ValidationError(
            f"{func}() has no argument '{short(unknown[0])}'."
            + did_you_mean(unknown[0], names, f"Its arguments are {', '.join(names)}.")
        )
    return ValidationError(f"{func}(): {short(str(exc))}. Its arguments are {', '.join(names)}.")


def short(text: str, limit: int = 80) -> str:
    """`text` cut to `limit` characters (an echoed value must not flood the error line)."""
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text):,} characters)"


# -- registration: base model and LoRA (EVIDENCE.md §1, §3) ------------------------------------

# A catalog-style name, as `--base-model` takes it bare (azd expands it: custom_create.go:333).
BASE_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
# An asset id given whole: azureml://registries/{registry}/models/{name}/versions/{version}.
BASE_MODEL_ID = re.compile(
    r"^azureml://registries/[A-Za-z0-9][A-Za-z0-9._-]*/models/[A-Za-z0-9][A-Za-z0-9._-]*"
    r"/versions/[A-Za-z0-9][A-Za-z0-9._-]*\Z"
)
# azd's expansion of a bare name (custom_create.go:333-338): this registry, version 1.
BASE_MODEL_REGISTRY = "azureml://registries/azureml-fireworks/models/{name}/versions/1"
LORA_CONFIG_KEYS = ("rank", "alpha", "targetModules", "dropout")


def base_model_id(value: str) -> str:
    """`--base-model`: an azureml://registries/... asset id as given, or a bare name expanded
    as azd does; the asset id either way."""
    value = value.strip()
    if value.startswith("azureml://"):
        if not BASE_MODEL_ID.match(value):
            raise argparse.ArgumentTypeError(
                f"'{value}' is not an asset id: use azureml://registries/REGISTRY/models/NAME/"
                "versions/VERSION, or a model name"
            )
        return value
    if not BASE_MODEL_NAME.match(value):
        raise argparse.ArgumentTypeError(
            f"'{value}' is not a model name: letters, digits, '.', '_' or '-', or an "
            "azureml://registries/... asset id"
        )
    return BASE_MODEL_REGISTRY.format(name=value)


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{value}'") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"expected a whole number > 0, got {number}")
    return number


def check_registration(
    *, base_model: object, weight_type: object, lora: object = None
) -> tuple[str | None, dict | None]:
    """The registration's base model (as an asset id) and loraConfig, checked the same for
    every front end: a base model is required unless the weights are a DraftModel (azd
    custom_create.go:61-65); LoRA values are ints > 0 and a dropout from 0 to 1."""
    check_choice(weight_type, WEIGHT_TYPES, "Weight type")
    asset = None
    if base_model is not None and base_model != "":
        if not isinstance(base_model, str):
            raise ValidationError(f"The base model must be text, got {base_model!r}.")
        check(base_model_id, base_model)
        asset = base_model_id(base_model)
    elif weight_type != "DraftModel":
        raise ValidationError(
            "--base-model is required unless --weight-type is DraftModel: name the model these "
            "weights derive from (a catalog name or an azureml://registries/... id)."
        )
    return asset, check_lora(lora)


def check_lora(lora: object) -> dict | None:
    """loraConfig {rank, alpha, targetModules, dropout} (spec ModelVersion), any part unset."""
    if lora is None:
        return None
    if not isinstance(lora, dict) or set(lora) - set(LORA_CONFIG_KEYS):
        raise ValidationError(f"The LoRA settings are {', '.join(LORA_CONFIG_KEYS)}.")
    config: dict = {}
    for key in ("rank", "alpha"):
        value = lora.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValidationError(f"LoRA {key} must be a whole number > 0, got {value!r}.")
        config[key] = value
    modules = lora.get("targetModules")
    if modules is not None:
        if isinstance(modules, str) or not isinstance(modules, list | tuple):
            raise ValidationError("LoRA target modules must be a list of names, e.g. ['q_proj'].")
        if not modules or not all(isinstance(m, str) and m.strip() for m in modules):
            raise ValidationError("LoRA target modules must be non-empty names.")
        config["targetModules"] = [m.strip() for m in modules]
    dropout = lora.get("dropout")
    if dropout is not None:
        if isinstance(dropout, bool) or not isinstance(dropout, int | float):
            raise ValidationError(f"LoRA dropout must be a number from 0 to 1, got {dropout!r}.")
        if not 0 <= dropout <= 1:
            raise ValidationError(f"LoRA dropout must be from 0 to 1, got {dropout}.")
        config["dropout"] = float(dropout)
    return config or None


def matches(pattern: str | None, *fields: str) -> bool:
    """Case-insensitive: a glob when the pattern has wildcards, else a substring."""
    if not pattern:
        return True
    needle = pattern.lower()
    wild = any(ch in needle for ch in "*?[")
    for text in fields:
        hay = (text or "").lower()
        if (wild and fnmatch.fnmatchcase(hay, needle)) or (not wild and needle in hay):
            return True
    return False
