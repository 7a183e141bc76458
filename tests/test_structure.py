"""The shape of the code, checked: no import cycle anywhere in src/, small functions, small files."""

import ast
import os

import pytest

SRC = os.path.join(os.path.dirname(__file__), "..", "src")
PACKAGE = "ptune_exp"
MAX_FUNCTION_LINES = 40
MAX_FILE_LINES = 350


def modules() -> dict[str, str]:
    """module name -> file path, for every .py under src/ptune_exp."""
    out = {}
    for folder, _, files in os.walk(os.path.join(SRC, PACKAGE)):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, SRC)[:-3].split(os.sep)
                out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports_of(path: str, known: dict) -> set[str]:
    """Every project module a file imports, at any depth (function-level imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        found |= {n for n in names if n in known}
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def package_of(module: str) -> str:
    return module.rsplit(".", 1)[0]


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_src():
    known = modules()
    graph = {}
    for name, path in known.items():
        # a package's __init__ importing its own submodules is how it exports them: not a cycle
        graph[name] = {
            m for m in imports_of(path, known) if not (m.startswith(name + ".") and path.endswith("__init__.py"))
        }
        # importing `a.b.c` runs `a.b`'s __init__ too, unless the importer is inside `a.b`
        graph[name] |= {
            package_of(m) for m in graph[name] if package_of(m) in known and not name.startswith(package_of(m))
        }
        graph[name].discard(name)
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph))}"


def functions(path: str):
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.lineno, node.end_lineno - node.lineno + 1


@pytest.mark.parametrize("name", sorted(modules()))
def test_small_files_and_functions(name):
    path = modules()[name]
    with open(path, encoding="utf-8") as f:
        lines = len(f.read().splitlines())
    assert lines <= MAX_FILE_LINES, f"{path} has {lines} lines (at most {MAX_FILE_LINES})"
    long = [f"{fn}:{line} ({n} lines)" for fn, line, n in functions(path) if n > MAX_FUNCTION_LINES]
    assert not long, f"{path}: functions longer than {MAX_FUNCTION_LINES} lines: {long}"


# The layers, highest first: a module may import its own layer and the ones below it, never one above.
LAYERS = [
    ("entry points", {"cli", "api", "predict", "__main__", "compare", "serve", "bench"}),
    ("pipeline", {"pipeline"}),
    ("lifecycle and artifacts", {"runs", "artifacts"}),
    ("model", {"model"}),
    ("tasks, methods, injection", {"tasks", "methods", "injection"}),
    ("config and errors", {"config", "conf", "errors", "storage"}),
]
TOP_LEVEL = {"cli", "api", "predict", "errors", "__main__"}  # the rest lives in a folder per layer


def layer_of(module: str) -> int:
    first = module.split(".")[1] if "." in module else ""
    if not first:
        return len(LAYERS)  # the package's own __init__: imports nothing of ours
    for i, (_, parts) in enumerate(LAYERS):
        if first in parts:
            return i
    raise AssertionError(f"{module}: in no layer of tests/test_structure.py LAYERS; put it in one")


def test_every_module_is_in_a_layer_and_only_entry_points_sit_at_the_top():
    known = modules()
    for name in known:
        layer_of(name)
    top = {n.split(".")[1] for n, p in known.items() if n.count(".") == 1 and not p.endswith("__init__.py")}
    assert top <= TOP_LEVEL, f"modules at the top of src/ptune_exp that belong in a layer's folder: {top - TOP_LEVEL}"


def test_no_lower_layer_imports_a_higher_one():
    known = modules()
    wrong = []
    for name, path in known.items():
        for imported in imports_of(path, known):
            if layer_of(imported) < layer_of(name):
                wrong.append(
                    f"{name} ({LAYERS[layer_of(name)][0]}) imports {imported} ({LAYERS[layer_of(imported)][0]})"
                )
    assert not wrong, "\n".join(sorted(wrong))


def test_the_layer_check_sees_an_upward_import():
    assert layer_of("ptune_exp.tasks.spec") > layer_of("ptune_exp.pipeline.run")
    assert layer_of("ptune_exp.errors") > layer_of("ptune_exp.runs.records")


def declared_distributions() -> set[str]:
    """Every distribution pyproject.toml names, in its dependencies or an extra, normalised."""
    import re

    import tomllib

    with open(os.path.join(SRC, "..", "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    specs = project["dependencies"] + [d for extra in project["optional-dependencies"].values() for d in extra]
    return {re.split(r"[<>=!~\[ ;]", s, maxsplit=1)[0].lower().replace("_", "-") for s in specs}


def test_every_third_party_import_is_declared():
    import sys
    from importlib.metadata import packages_distributions

    owners = packages_distributions()
    declared = declared_distributions()
    missing = {}
    for name, path in modules().items():
        for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
            if isinstance(node, ast.Import):
                tops = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top == PACKAGE or top in sys.stdlib_module_names or top not in owners:
                    continue
                if not {d.lower().replace("_", "-") for d in owners[top]} & declared:
                    missing.setdefault(top, name)
    assert not missing, f"imported but not declared in pyproject.toml (module: first importer): {missing}"


def untrusting_calls(source: str, where: str) -> list[str]:
    """`from_pretrained(...)` calls that do not pass `trust_remote_code=` by name: left out, transformers may
    ask on stdin whether to run a model folder's own code (and a piped `y` runs it)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        call = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        if call and node.func.attr == "from_pretrained" and all(k.arg != "trust_remote_code" for k in node.keywords):
            found.append(f"{where}:{node.lineno}")
    return found


def test_the_trust_check_sees_a_call_without_the_flag():
    assert untrusting_calls("AutoConfig.from_pretrained(path, **common)", "x") == ["x:1"]
    assert untrusting_calls("AutoConfig.from_pretrained(path, trust_remote_code=False)", "x") == []


def test_every_from_pretrained_in_src_says_whether_to_trust_remote_code():
    found = []
    for path in modules().values():
        with open(path, encoding="utf-8") as f:
            found += untrusting_calls(f.read(), os.path.relpath(path, SRC))
    assert not found, f"from_pretrained without an explicit trust_remote_code=: {found}"


def first_sentence(path: str) -> str:
    doc = ast.get_docstring(ast.parse(open(path, encoding="utf-8").read())) or ""
    return " ".join(doc.split()).split(". ")[0].strip()


def test_every_module_says_what_it_holds_in_its_own_words():
    """A module's docstring opens with what it holds; two modules opening alike are one job in two places."""
    by_sentence: dict[str, list[str]] = {}
    for name, path in modules().items():
        sentence = first_sentence(path)
        assert sentence or name.endswith("__main__"), f"{path}: no module docstring"
        if sentence:
            by_sentence.setdefault(sentence.lower(), []).append(name)
    same = {s: names for s, names in by_sentence.items() if len(names) > 1}
    assert not same, f"modules that describe themselves alike: {same}"
