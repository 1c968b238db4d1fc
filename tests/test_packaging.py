"""A plain `pip install .` (the Docker image) brings every third-party module the code imports."""

import ast
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
OWN = {"tumen", "tiles", "overlays", "analysis", "publish"}


def _runtime_closure() -> set[str]:
    """Distributions installed by the project's runtime dependencies, transitively, with extras."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo = [Requirement(r) for r in project["dependencies"]]
    seen: set[str] = set()
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            subs = requires(req.name) or []
        except PackageNotFoundError:
            continue
        for text in subs:
            sub = Requirement(text)
            if sub.marker is None or any(
                sub.marker.evaluate({"extra": extra}) for extra in (req.extras or {""})
            ):
                todo.append(sub)
    return seen


def _imported_modules() -> set[str]:
    names: set[str] = set()
    for package in OWN:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names.add(node.module.split(".")[0])
    return names - OWN - set(sys.stdlib_module_names)


def test_every_import_comes_with_a_runtime_dependency() -> None:
    closure = _runtime_closure()
    providers = packages_distributions()
    missing = {
        module: providers.get(module, [])
        for module in _imported_modules()
        if not {canonicalize_name(d) for d in providers.get(module, [])} & closure
    }
    assert not missing, f"imported but not installed by pyproject's dependencies: {missing}"
