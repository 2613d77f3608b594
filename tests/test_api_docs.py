"""The Python API reads as a library: every public method and property of `AzModels` and of the
services has a docstring saying what it does; a method's says (in sections, as Google-style
docstrings do) its arguments (`Args:`), what it returns (`Returns:`), the typed errors it raises
itself (`Raises:`) and shows a call (`>>>`)."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap

import pytest

from azmodels_magic import errors
from azmodels_magic.api import AzModels
from azmodels_magic.config import SettingError
from azmodels_magic.services.deployments import DeploymentService
from azmodels_magic.services.models import ModelService
from azmodels_magic.services.quota import QuotaService
from azmodels_magic.services.uploads import UploadService

CLASSES = (AzModels, ModelService, UploadService, DeploymentService, QuotaService)
ERRORS = {
    name
    for name, value in {**vars(errors), "SettingError": SettingError}.items()
    if isinstance(value, type) and issubclass(value, errors.AzModelsError)
}
SECTIONS = ("Args:", "Returns:", "Raises:", "Example:")


def public_members(cls: type) -> list[tuple[str, object]]:
    """(name, member) of each public method and property `cls` has from this package's classes
    (a settings class's included; traitlets' and object's not)."""
    found = []
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        owner = next(c for c in cls.__mro__ if name in vars(c))
        if not owner.__module__.startswith("azmodels_magic."):
            continue
        member = vars(owner)[name]
        if isinstance(member, (property, classmethod, staticmethod)) or inspect.isfunction(member):
            found.append((name, member))
    return found


def function_of(member: object):
    if isinstance(member, property):
        return member.fget
    if isinstance(member, (classmethod, staticmethod)):
        return member.__func__
    return inspect.unwrap(member)  # the services' argument checks wrap each public method


def section(doc: str, title: str) -> str:
    """The indented lines under `title` (up to the next section or the end)."""
    match = re.search(rf"^{title}\n((?:[ \t]+.*\n?|\n)*)", doc, re.M)
    return match.group(1) if match else ""


def raised_here(function) -> set[str]:
    """The typed errors `function`'s own body raises by name (`raise NotFoundError(...)`)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            name = getattr(target, "id", None) or getattr(target, "attr", None)  # errors.X too
            if name in ERRORS:
                names.add(name)
    return names


def problems(name: str, member: object) -> list[str]:
    """What `member`'s docstring lacks; [] when it says all it should."""
    function = function_of(member)
    doc = inspect.getdoc(function) or ""
    if not doc:
        return [f"{name}: no docstring"]
    if isinstance(member, property):
        return []  # a property's docstring says what it is: that is what it returns
    found = []
    parameters = [
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    args = section(doc, "Args:")
    for parameter in parameters:
        if not re.search(rf"^\s+{parameter}\b", args, re.M):
            found.append(f"{name}: argument `{parameter}` not under Args:")
    returns = function.__annotations__.get("return")
    if returns not in (None, "None") and not section(doc, "Returns:").strip():
        found.append(f"{name}: no Returns: section")
    raises = section(doc, "Raises:")
    for error in sorted(raised_here(function)):
        if not re.search(rf"\b{error}\b", raises):
            found.append(f"{name}: raises {error}, not under Raises:")
    if ">>>" not in doc:
        found.append(f"{name}: no example (>>>)")
    return found


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_public_method_and_property_is_documented(cls):
    members = public_members(cls)
    assert len(members) > 5  # the walk sees them
    missing = [line for name, member in members for line in problems(name, member)]
    assert missing == [], f"{cls.__name__}:\n" + "\n".join(missing)


def test_the_check_sees_what_a_docstring_lacks():
    class Sample:
        def find(self, name: str, *, version: str | None = None) -> str:
            """Find it.

            Args:
                name: what it is called.

            Returns:
                Its id.
            """
            if not name:
                raise errors.ValidationError("no name")  # not named under Raises:
            return name

        def undocumented(self) -> None:
            pass

    assert problems("find", Sample.find) == [
        "find: argument `version` not under Args:",
        "find: raises ValidationError, not under Raises:",
        "find: no example (>>>)",
    ]
    assert problems("undocumented", Sample.undocumented) == ["undocumented: no docstring"]


def test_the_errors_are_also_the_builtin_categories_python_users_catch():
    assert issubclass(errors.ValidationError, ValueError)
    assert issubclass(errors.NotFoundError, LookupError)
    assert issubclass(errors.OperationTimeoutError, TimeoutError)
    assert issubclass(errors.PermissionDeniedError, PermissionError)
