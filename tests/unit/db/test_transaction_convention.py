"""The transaction convention (docs/architecture.md, "Transactions"), checked over the source: a function
that joins the caller's transaction takes the session as its first parameter and never opens one of its
own; only ``Database.session`` begins, commits or rolls back; no unit of work opens inside another."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pressroom

SOURCE = Path(pressroom.__file__).parent
TRANSACTION_CALLS = {"commit", "rollback", "begin", "begin_nested"}


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(SOURCE.rglob("*.py")):
        yield str(path.relative_to(SOURCE)), ast.parse(path.read_text(), filename=str(path))


def _opens_session(node: ast.AST) -> bool:
    """``<something>.session()``: the one way code opens a unit of work (``Database.session``)."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "session"
        and not node.args
        and not node.keywords
    )


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    names = [arg.arg for arg in (*function.args.posonlyargs, *function.args.args)]
    return names[1:] if names[:1] in (["self"], ["cls"]) else names


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def test_a_function_that_joins_a_transaction_takes_the_session_first_and_opens_none() -> None:
    offenders = []
    for module, tree in _modules():
        for function in _functions(tree):
            parameters = _parameters(function)
            keyword_only = [arg.arg for arg in function.args.kwonlyargs]
            if "session" not in parameters and "session" not in keyword_only:
                continue
            if parameters[:1] != ["session"]:
                offenders.append(f"{module}:{function.lineno} {function.name}: session is not the first parameter")
            if any(_opens_session(node) for node in ast.walk(function)):
                offenders.append(f"{module}:{function.lineno} {function.name}: joins a transaction and opens one")
    assert offenders == []


def test_only_the_database_session_begins_commits_or_rolls_back() -> None:
    offenders = [
        f"{module}:{node.lineno} .{node.func.attr}()"
        for module, tree in _modules()
        if module != "db/session.py"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in TRANSACTION_CALLS
    ]
    assert offenders == []


def test_no_unit_of_work_opens_inside_another_in_one_function() -> None:
    offenders = []
    for module, tree in _modules():
        for outer in ast.walk(tree):
            if not isinstance(outer, ast.With | ast.AsyncWith):
                continue
            if not any(_opens_session(item.context_expr) for item in outer.items):
                continue
            for statement in outer.body:
                for inner in ast.walk(statement):
                    if isinstance(inner, ast.With | ast.AsyncWith) and any(
                        _opens_session(item.context_expr) for item in inner.items
                    ):
                        offenders.append(
                            f"{module}:{inner.lineno} opens a session inside the one of line {outer.lineno}"
                        )
    assert offenders == []


def test_the_checks_see_a_violation() -> None:
    """The scans above would pass vacuously if they matched nothing: each finds its pattern in a sample."""
    sample = ast.parse(
        "def hook(job, session):\n"
        "    with db.session() as inner:\n"
        "        with db.session() as nested:\n"
        "            nested.commit()\n"
    )
    (function,) = _functions(sample)
    assert _parameters(function)[:1] != ["session"]
    assert any(_opens_session(node) for node in ast.walk(function))
    withs = [node for node in ast.walk(sample) if isinstance(node, ast.With)]
    assert len(withs) == 2 and all(_opens_session(w.items[0].context_expr) for w in withs)
    calls = [n for n in ast.walk(sample) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]
    assert any(call.func.attr in TRANSACTION_CALLS for call in calls if isinstance(call.func, ast.Attribute))
