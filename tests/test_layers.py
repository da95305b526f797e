"""The layering rule of clevrlite/__init__.py, checked on every import of every module."""

import ast
from pathlib import Path

import clevrlite

PACKAGE = Path(clevrlite.__file__).parent
GL = ("OpenGL", "pyrender", "clevrlite.render")
CORE = ("annotate", "crowd", "errors", "fsutil", "maps", "meshes", "placement", "png",
        "precision", "scene", "serialize", "solver", "vocab")


def imports(path: Path) -> set[str]:
    """Every module name a file imports, at any depth (function-level imports too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield ".".join(("clevrlite", *path.relative_to(PACKAGE).with_suffix("").parts)), path


def under(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_only_render_and_the_pipeline_touch_gl():
    offenders = {module: sorted(n for n in imports(path) if under(n, GL))
                 for module, path in modules()
                 if not under(module, ("clevrlite.render", "clevrlite.pipeline"))}
    assert not {m: found for m, found in offenders.items() if found}


def test_the_core_imports_only_the_core():
    allowed = tuple(f"clevrlite.{name}" for name in CORE)
    offenders = {}
    for module, path in modules():
        if module.split(".")[1] in CORE:
            found = [n for n in imports(path)
                     if n.startswith("clevrlite") and not under(n, allowed)
                     and n not in ("clevrlite", *(f"clevrlite.{c}" for c in CORE))]
            if found:
                offenders[module] = found
    assert not offenders


def test_the_rule_sees_a_violation(tmp_path):
    """The checker itself: a function-level GL import is found."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from clevrlite.render import Renderer\n")
    assert under("clevrlite.render.Renderer", GL) and "clevrlite.render" in imports(bad)
