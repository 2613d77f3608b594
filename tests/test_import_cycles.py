"""No import circles between the package's modules, not even through imports made only for type
checking (`if TYPE_CHECKING:`): a back-reference that exists only for an annotation still ties
two modules into one, which the layers contract cannot see between siblings."""

from __future__ import annotations

import grimp

# Circles other changes are removing, each named by the modules in it. The test fails when a new
# circle appears, and when one of these is gone (then delete its line).
KNOWN: set[frozenset[str]] = set()


def import_circles(package: str = "azmodels_magic") -> set[frozenset[str]]:
    """Each set of modules that import one another round a circle (Tarjan's strongly connected
    components), names relative to `package`; imports under TYPE_CHECKING and inside functions
    count."""
    graph = grimp.build_graph(package, exclude_type_checking_imports=False, cache_dir=None)
    modules = graph.modules
    edges = {m: graph.find_modules_directly_imported_by(m) & modules for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: set[frozenset[str]] = set()

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in edges[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            members = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.add(member)
                if member == module:
                    break
            if len(members) > 1:
                circles.add(frozenset(m.removeprefix(package + ".") for m in members))

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return circles


def test_no_import_circles_even_through_type_checking_imports():
    circles = import_circles()
    assert [sorted(c) for c in circles - KNOWN] == []  # new circles
    assert [sorted(c) for c in KNOWN - circles] == []  # gone: remove them from KNOWN


def test_the_check_sees_a_circle_made_only_for_type_checking(tmp_path, monkeypatch):
    package = tmp_path / "circled"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n"
    )
    (package / "c.py").write_text("from . import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_circles("circled") == {frozenset({"a", "b"})}
