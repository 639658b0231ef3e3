"""An undocumented public name fails the build.

The public Python API is the ``__all__`` of the modules in :data:`PUBLIC_MODULES` and of every module
that a page of the API reference (``docs/reference/api/``) renders whole with a ``::: module``
directive. :func:`api_problems` reads them as mkdocstrings does (griffe, statically: nothing is
imported) and reports every public name that has no docstring, or that no API page renders: neither
its module's page (``::: module``) nor a directive naming it or the object it stands for.

A package that exports its names lazily (PEP 562, as ``dream_keras`` does so that ``--help`` never
imports Keras) keeps them in a ``_PUBLIC = {name: defining module}`` literal, which is read in place of
``__all__``'s entries that cannot be read statically.

The MkDocs hook :func:`on_files` logs each problem as a warning, so ``mkdocs build --strict`` fails
on it; ``tests/test_docs.py`` runs the same check.
"""

from __future__ import annotations

import ast
import logging
import pathlib
import re

#: Modules whose ``__all__`` is public API and must be documented whole.
PUBLIC_MODULES = (
    "dream_keras", "dream_keras.interpret", "dream_keras.export", "dream_keras.tasks.atac.pipeline",
    "dream_keras.tasks.tables.train", "dream_keras.tasks.tables.prediction", "data_prep", "data_prep.outputs",
    "bias_models",
)
#: Folder of the API reference pages, relative to the docs folder.
API_FOLDER = "reference/api"
_DIRECTIVE = re.compile(r"^:::\s+([\w.]+)\s*$", re.M)
log = logging.getLogger(f"mkdocs.plugins.{__name__}")


def api_directives(docs_dir: str | pathlib.Path) -> set[str]:
    """Identifiers of every ``::: identifier`` directive on the API pages.

    Args:
        docs_dir: The documentation folder (``docs/``).

    Returns:
        The dotted paths the pages render.
    """
    found = set()
    for page in sorted((pathlib.Path(docs_dir) / API_FOLDER).rglob("*.md")):
        found.update(_DIRECTIVE.findall(page.read_text()))
    return found


def _load(root: pathlib.Path, modules):
    import griffe

    loader = griffe.GriffeLoader(search_paths=[str(root)], docstring_parser="google")
    for name in sorted({module.split(".")[0] for module in modules}):
        loader.load(name)
    loader.resolve_aliases(implicit=False, external=False)
    return loader.modules_collection


def _exports(module) -> dict[str, str]:
    """``{public name: dotted path of the object it names}`` for a griffe module."""
    names = {}
    lazy = module.members.get("_PUBLIC")
    lazy_map = ast.literal_eval(str(lazy.value)) if lazy is not None and lazy.value is not None else {}
    for entry in module.exports or ():
        if isinstance(entry, str):
            names[entry] = f"{lazy_map[entry]}.{entry}" if entry in lazy_map else f"{module.path}.{entry}"
        else:  # an expression (``*_PUBLIC``): the lazy names
            names.update({name: f"{source}.{name}" for name, source in lazy_map.items()})
    return names


def _target(collection, path: str):
    """The object at ``path``, aliases followed.

    A submodule shadowed by a same-named function it defines (``from .ism import ism``) is taken as that function, as
    Python binds it.
    """
    module_path, _, name = path.rpartition(".")
    obj = collection[module_path][name] if module_path else collection[path]
    obj = obj.final_target if obj.is_alias else obj
    if obj.is_module and name in obj.members:
        obj = obj.members[name]
        obj = obj.final_target if obj.is_alias else obj
    return obj


def api_problems(root: str | pathlib.Path, docs_dir: str | pathlib.Path,
                 public_modules: tuple[str, ...] = PUBLIC_MODULES) -> list[str]:
    """Every public name without a docstring or without a place in the API reference.

    Args:
        root: The repository root (the packages are read from here).
        docs_dir: The documentation folder.
        public_modules: Modules whose ``__all__`` must be documented whole, besides those an API page
            renders whole.

    Returns:
        One line per problem, naming the public name and what it lacks; empty when all is well.
    """
    import griffe

    root = pathlib.Path(root)
    directives = api_directives(docs_dir)
    collection = _load(root, tuple(public_modules) + tuple(directives))
    problems = []
    for identifier in sorted(directives):
        try:
            _target(collection, identifier)
        except (KeyError, griffe.AliasResolutionError) as err:
            problems.append(f"API page directive '::: {identifier}' names nothing ({err})")
    modules = [m for m in directives if m in collection.members or _is_module(collection, m)]
    for module_path in sorted(set(public_modules) | set(modules)):
        module = _module(collection, module_path)
        if module is None or module.exports is None:
            if module_path in public_modules:
                problems.append(f"{module_path} has no __all__ (the check needs its public names)")
            continue
        if not module.docstring:
            problems.append(f"{module_path}: module without a docstring")
        for name, path in _exports(module).items():
            public = f"{module_path}.{name}"
            try:
                target = _target(collection, path)
            except (KeyError, griffe.AliasResolutionError) as err:
                problems.append(f"{public}: in __all__ but not found ({err})")
                continue
            if not (target.docstring and target.docstring.value.strip()):
                problems.append(f"{public} ({target.path}) has no docstring")
            shadowed = _is_module(collection, path)  # a module page would render the submodule instead
            places = {public, path, target.path} | (set() if shadowed else {module_path})
            if not places & directives:
                problems.append(f"{public} ({target.path}) is on no API page: add '::: {target.path}' to a "
                                f"page under docs/{API_FOLDER}/ or render its module there")
    return problems


def _is_module(collection, path: str) -> bool:
    try:
        module_path, _, name = path.rpartition(".")
        obj = collection[module_path][name] if module_path else collection[path]
        return (obj.final_target if obj.is_alias else obj).is_module
    except Exception:  # noqa: BLE001 - anything unresolvable is simply not a module
        return False


def _module(collection, path: str):
    try:
        obj = collection[path]
    except KeyError:
        return None
    return obj if obj.is_module else None


def on_files(files, config):
    """MkDocs hook: log every API problem as a warning (``--strict`` turns them into a failed build)."""
    docs_dir = pathlib.Path(config["docs_dir"])
    for problem in api_problems(docs_dir.parent, docs_dir):
        log.warning(problem)
    return files
