"""Imports: light where they should be, no cycle, no private name across modules.

``import bayesmix`` and everything on the EM path (fit, predict, score, ``select_em``)
must not load the Bayesian stack, nor, for the four structures, Numba; the command's
``--help``, ``--version`` and usage errors must not even load pandas or scikit-learn;
each is checked in a fresh interpreter.
The module graph is read from the source with :mod:`ast`.
"""

import ast
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import bayesmix

PACKAGE = Path(bayesmix.__file__).parent
#: Never loaded by ``import bayesmix`` and the EM path.
BAYESIAN_STACK = ("pymc", "pytensor", "jax", "numpyro", "arviz", "xarray")
#: Loaded only by mclust's decomposed models' M steps (their compiled scatters and inner
#: iterations): not by the four structures' EM, whose first fit in a process it would
#: slow by about 0.4 s.
COMPILER = ("numba",)
#: Never loaded by ``bayesmix --help``, ``--version`` or a usage error.
NOT_FOR_THE_PARSER = BAYESIAN_STACK + ("matplotlib", "pandas", "sklearn", "scipy")
def loaded_after(code: str, packages: tuple[str, ...]) -> tuple[list[str], str]:
    """Run ``code`` in a fresh interpreter; the ``packages`` loaded when it exits, stdout.

    The list is printed by an exit hook, so it is also read after ``SystemExit``.
    """
    hook = textwrap.dedent(f"""\
        import atexit, json, sys
        atexit.register(lambda: sys.stderr.write(
            "\\nLOADED " + json.dumps([name for name in {packages!r} if name in sys.modules])))
        """)
    result = subprocess.run([sys.executable, "-c", hook + textwrap.dedent(code)],
                            capture_output=True, text=True, timeout=300)
    marker = result.stderr.rfind("\nLOADED ")
    assert marker >= 0, result.stderr[-3000:]
    return json.loads(result.stderr[marker + len("\nLOADED "):]), result.stdout


# ----------------------------------------------------------------- light imports
def test_the_em_path_loads_no_bayesian_stack():
    """The estimator loads neither the Bayesian stack nor the compiler (scikit-learn's
    four structures need no compiled M step); model selection loads the compiler, for
    its batch's precision factors (:mod:`bayesmix.covariance.factor_kernel`)."""
    estimator = """
        import bayesmix
        for name in ("GaussianMixtureEM", "select_em", "load_old_faithful", "make_mixture",
                     "ConvergenceWarning", "NotFittedError", "__version__"):
            getattr(bayesmix, name)
        X = bayesmix.make_mixture(60, 2, 2, "full", random_state=0).X
        em = bayesmix.GaussianMixtureEM(2, n_init=2, random_state=0).fit(X)
        em.predict(X), em.predict_proba(X), em.score_samples(X), em.sample(3)
        em.score(X), em.bic(X), em.aic(X), em.icl(X)
        bayesmix.load_old_faithful()
        """
    loaded, _ = loaded_after(estimator, BAYESIAN_STACK + COMPILER)
    assert loaded == [], f"the estimator imported {loaded}"
    loaded, out = loaded_after(estimator + """
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            selection = bayesmix.select_em(X, n_components=[1, 2],
                                           covariance_types=["full", "diag"], n_init=1)
        print(selection.best_params_["covariance_type"])
        """, BAYESIAN_STACK + COMPILER)
    assert out.split()[-1] in ("full", "diag")  # it ran to the end
    assert loaded == ["numba"], f"the EM path imported {loaded}"


def test_an_iterative_m_step_loads_the_compiler():
    """The check above can fail: VEE's M step iterates in compiled code."""
    loaded, _ = loaded_after("""
        import bayesmix
        X = bayesmix.make_mixture(60, 2, 2, "full", random_state=0).X
        bayesmix.GaussianMixtureEM(2, covariance_type="VEE", random_state=0).fit(X)
        """, COMPILER)
    assert loaded == ["numba"]


def test_saving_and_loading_an_em_fit_loads_no_pymc(tmp_path):
    """Persistence imports an estimator's class only when a file of that class is read."""
    loaded, out = loaded_after(f"""
        import bayesmix
        X = bayesmix.make_mixture(40, 2, 2, "full", random_state=0).X
        em = bayesmix.GaussianMixtureEM(2, random_state=0).fit(X)
        reloaded = bayesmix.load(em.save({str(tmp_path / "em.nc")!r}))
        print(bool((reloaded.score_samples(X) == em.score_samples(X)).all()))
        """, ("pymc", "pytensor", "jax", "numpyro"))
    assert out.split() == ["True"]
    assert loaded == [], f"saving and loading an EM fit imported {loaded}"


def test_the_bayesian_estimator_loads_the_bayesian_stack():
    """The check above can fail: the first use of the posterior loads PyMC and ArviZ."""
    loaded, _ = loaded_after("import bayesmix; bayesmix.GaussianMixtureBayes", BAYESIAN_STACK)
    assert {"pymc", "pytensor", "arviz"} <= set(loaded)


@pytest.mark.parametrize(("arguments", "exit_code"), [
    (["--help"], 0),
    (["--version"], 0),
    (["fit", "data.csv", "--components", "0", "--out", "out"], 2),
    (["select", "data.csv", "--criterion", "aic"], 2),
], ids=["help", "version", "bad-components", "bad-criterion"])
def test_the_command_line_parser_loads_nothing_heavy(arguments, exit_code):
    loaded, _ = loaded_after(f"""
        import runpy, sys
        sys.argv = ["bayesmix", *{arguments!r}]
        try:
            runpy.run_module("bayesmix", run_name="__main__", alter_sys=True)
        except SystemExit as exit:
            assert exit.code == {exit_code}, exit.code
        """, NOT_FOR_THE_PARSER)
    assert loaded == [], f"bayesmix {' '.join(arguments)} imported {loaded}"


def test_a_selection_by_em_on_the_command_line_loads_no_bayesian_stack(tmp_path):
    """``bayesmix select`` by EM makes no InferenceData: neither ArviZ nor a sampler."""
    data = tmp_path / "faithful.csv"
    bayesmix.load_old_faithful().to_csv(data, index=False)
    loaded, out = loaded_after(f"""
        from bayesmix.cli import main
        print(main(["select", {str(data)!r}, "-k", "1-2", "--covariance", "tied"]))
        """, BAYESIAN_STACK)
    assert out.split()[-1] == "0"  # it ran to the end
    assert loaded == [], f"bayesmix select by EM imported {loaded}"


# ----------------------------------------------------------------- the module graph
def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _absolute(module: str, node: ast.ImportFrom) -> str:
    """The module an ``ImportFrom`` names, relative imports resolved."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base[:len(base) - node.level + (1 if _is_package(module) else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def _imported_modules(module: str, node: ast.stmt) -> list[str]:
    """The bayesmix modules an import statement loads (``from a import b``: ``a.b`` too)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        source = _absolute(module, node)
        names = [source] + [f"{source}.{alias.name}" for alias in node.names]
    else:
        return []
    return [name for name in names if name in MODULES]


def _is_type_checking(node: ast.stmt) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _module_level_statements(body: list[ast.stmt]):
    """Statements run on import: the body, into ``if``/``try``/``with`` blocks, not into
    functions, classes or ``if TYPE_CHECKING:``."""
    for node in body:
        if _is_type_checking(node):
            continue
        yield node
        if isinstance(node, (ast.If, ast.Try, ast.With, ast.ExceptHandler)):
            for field in ("body", "orelse", "finalbody", "handlers"):
                yield from _module_level_statements(getattr(node, field, []))


def import_graph() -> dict[str, set[str]]:
    """``module -> the bayesmix modules it imports when it is imported``.

    Importing ``a.b.c`` also runs the packages ``a.b`` and ``a``; those count, except the
    packages the importing module belongs to (they are being initialised already).
    """
    graph = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        own_packages = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
        targets = set()
        for node in _module_level_statements(tree.body):
            for name in _imported_modules(module, node):
                parts = name.split(".")
                targets.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        graph[module] = {target for target in targets - own_packages - {module}
                         if target in MODULES}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan), sorted."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(cycles)


def test_no_import_cycle_inside_bayesmix():
    graph = import_graph()
    assert graph["bayesmix.cli.commands"] >= {"bayesmix.cli.parser", "bayesmix.selection"}
    cycles = find_cycles(graph)
    described = ["; ".join(f"{module} -> {', '.join(sorted(graph[module] & set(cycle)))}"
                           for module in cycle) for cycle in cycles]
    assert not cycles, "import cycles:\n" + "\n".join(described)


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def private_imports() -> dict[str, list[str]]:
    """``file -> ["from module import _name", ...]`` anywhere in bayesmix (functions too).

    Private *modules* of the package (``bayesmix._validation``) may be imported; their
    private *names* may not. Dunder names (``__version__``) are public.
    """
    offenders = {}
    for module, path in MODULES.items():
        found = []
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ImportFrom):
                continue
            source = _absolute(module, node)
            if not source.startswith("bayesmix") or source == module:
                continue
            found += [f"from {source} import {alias.name}" for alias in node.names
                      if alias.name.startswith("_") and not alias.name.startswith("__")
                      and f"{source}.{alias.name}" not in MODULES]
        if found:
            offenders[str(path.relative_to(PACKAGE.parent))] = found
    return offenders


def test_no_private_name_is_imported_from_another_module():
    offenders = private_imports()
    assert not offenders, f"private names imported across modules: {offenders}"


# ----------------------------------------------------------------- the public names
def test_every_public_name_resolves():
    for name in bayesmix.__all__:
        value = getattr(bayesmix, name)
        assert value is not None, name
        if name != "__version__":
            assert value.__name__ == name
    assert set(bayesmix.__all__) <= set(dir(bayesmix))


def test_an_unknown_name_is_the_usual_attribute_error():
    with pytest.raises(AttributeError, match="^module 'bayesmix' has no attribute 'nope'$"):
        bayesmix.nope  # noqa: B018


#: A module longer than this says why in its docstring ("Its length ... is that of ...").
LONG_MODULE_LINES = 500


#: How far the length a docstring states may be from the module's (relative).
STATED_LENGTH_RTOL = 0.1


def long_modules_without_a_reason(package: Path) -> list[str]:
    """The modules under ``package`` longer than :data:`LONG_MODULE_LINES` whose
    docstring does not state why ("length (about N lines ...) is that of ..."), or
    states a length more than :data:`STATED_LENGTH_RTOL` off."""
    unexplained = []
    for path in sorted(package.rglob("*.py")):
        source = path.read_text()
        n_lines = len(source.splitlines())
        if n_lines <= LONG_MODULE_LINES:
            continue
        docstring = " ".join((ast.get_docstring(ast.parse(source)) or "").split())
        stated = re.search(r"length \(about ([\d,]+) lines.*?\) is", docstring)
        if stated is None:
            unexplained.append(f"{path.relative_to(package.parent)} ({n_lines} lines)")
        elif abs(int(stated.group(1).replace(",", "")) - n_lines) > STATED_LENGTH_RTOL * n_lines:
            unexplained.append(f"{path.relative_to(package.parent)} ({n_lines} lines, "
                               f"says about {stated.group(1)})")
    return unexplained


def test_every_long_module_says_why_it_is_long():
    assert long_modules_without_a_reason(PACKAGE) == []


def test_a_long_module_without_a_reason_is_found(tmp_path):
    package = tmp_path / "package"
    package.mkdir()
    (package / "short.py").write_text('"""Short."""\n')
    (package / "long.py").write_text('"""Long."""\n' + "x = 1\n" * LONG_MODULE_LINES)
    (package / "explained.py").write_text(
        '"""Long. Its length (about 500 lines) is that of one thing."""\n'
        + "x = 1\n" * LONG_MODULE_LINES)
    (package / "stale.py").write_text(
        '"""Long. Its length (about 300 lines) is that of one thing."""\n'
        + "x = 1\n" * LONG_MODULE_LINES)
    assert long_modules_without_a_reason(package) == [
        f"package/long.py ({LONG_MODULE_LINES + 1} lines)",
        f"package/stale.py ({LONG_MODULE_LINES + 1} lines, says about 300)"]
