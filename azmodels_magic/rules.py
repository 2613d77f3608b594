"""The rules every way in checks alike: names, versions, tags, capacities, formats, statuses.

The grammar (argparse `type=` callables), the services, the forms and the Python API all use these,
so a value is refused the same way whichever front end it came from, before any network call.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

from .errors import ValidationError
from .records import META_PREFIX

MODEL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,29}$")
VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,29}$")
DEPLOYMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
TAG_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
FORMATS = ("safetensors", "gguf", "onnx", "pytorch")
WEIGHT_TYPES = ("FullWeight", "LoRA", "DraftModel")
TYPES = ("base", "custom")
STATUSES = ("running", "stopped", "failed", "creating")
MAX_CAPACITY = 1_000_000
# ARM's modelCapacities takes modelFormat only in this shape (cognitiveservices.json 2025-06-01):
# formats with a space (Mistral AI, AI21 Labs, Black Forest Labs) cannot be asked about.
CAPACITY_QUERY_FORMAT = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


# -- value checks (argparse `type=` callables: their message becomes the usage error) -----------


def _matching(pattern: re.Pattern[str], what: str, rule: str) -> Callable[[str], str]:
    """A check that `value` matches `pattern`; its complaint names the value and the rule."""

    def check_value(value: str) -> str:
        if not pattern.match(value):
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
    if not TAG_KEY.match(key):
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


def var_name(value: str) -> str:
    if not VAR_NAME.match(value):
        raise argparse.ArgumentTypeError(f"'{value}' is not a Python variable name")
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


def capacity_queryable(model_format: str) -> bool:
    """Whether ARM's modelCapacities can be asked about models of this format."""
    return bool(CAPACITY_QUERY_FORMAT.match(model_format))


def suggest_deployment_name(model_name: str) -> str:
    """A valid deployment name made from a model's name (what forms and next steps offer)."""
    cleaned = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in model_name.lower())
    return cleaned[:60].strip("-._") or "my-deployment"


# -- registration: base model and LoRA (EVIDENCE.md §1, §3) ------------------------------------

# A catalog-style name, as `--base-model` takes it bare (azd expands it: custom_create.go:333).
BASE_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# An asset id given whole: azureml://registries/{registry}/models/{name}/versions/{version}.
BASE_MODEL_ID = re.compile(
    r"^azureml://registries/[A-Za-z0-9][A-Za-z0-9._-]*/models/[A-Za-z0-9][A-Za-z0-9._-]*"
    r"/versions/[A-Za-z0-9][A-Za-z0-9._-]*$"
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


def base_model_name(asset_id: str) -> str:
    """The model name inside an asset id (the id itself when it is not one)."""
    match = re.search(r"/models/([^/]+)/versions/[^/]+$", asset_id)
    return match.group(1) if match else asset_id


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
