"""The shape of the code holds: imports flow one way, types check, the committed SDL is current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from schema import export_sdl

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_graphql_is_up_to_date() -> None:
    committed = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert committed == export_sdl(), (
        "schema.graphql is stale: run `halo-gateway export-schema` and commit it"
    )


def test_code_is_lint_clean() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ruff"), "check", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_types_check() -> None:
    # mypy reads [tool.mypy] in pyproject.toml: which files, strict where, and its cache in
    # .mypy_cache (a warm cache makes this a few seconds; a cold one about ten).
    result = subprocess.run(
        [str(Path(sys.executable).parent / "mypy")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# A `type: ignore` is for a library whose types are wrong, not for ours; each says why.
MAX_TYPE_IGNORES = 5


def test_few_type_ignores_and_each_says_why() -> None:
    found = []
    for top in ("gateway", "schema", "workers"):
        for path in sorted((ROOT / top).rglob("*.py")):
            lines = path.read_text(encoding="utf-8").splitlines()
            for number, line in enumerate(lines):
                if "# type: ignore" in line:
                    above = lines[number - 1].strip() if number else ""
                    found.append((f"{path.relative_to(ROOT)}:{number + 1}", above))
    unexplained = [where for where, above in found if not above.startswith("#")]
    assert not unexplained, f"a comment on the line above must say why: {unexplained}"
    assert len(found) <= MAX_TYPE_IGNORES, [where for where, _ in found]


# Tests mirror the tree: gateway/<path>/m.py ↔ tests/<path>/test_m.py, schema/m.py ↔
# tests/api/test_m.py, workers/m.py ↔ tests/workers/test_m.py. A module's tests may be split
# by part (test_m_<part>.py); a package's own code (its __init__) is tested in test_<package>.py
# beside or inside its mirror; an area's GraphQL module and its service share one file
# (schema/issues.py ↔ tests/services/test_issues.py, schema/connection.py ↔ tests/api/…).
# Modules with nothing of their own to test, and why:
NOT_MIRRORED = {
    "gateway/__init__.py": "empty",
    "gateway/__main__.py": "`python -m gateway` calls gateway.cli.main",
    "gateway/migrations_config.py": "the settings of Tortoise's own CLI, no code",
    "gateway/jobs.py": "a Protocol: workers/queue.py implements it (tests/workers/test_queue.py)",
    "gateway/models.py": "table declarations; tests/test_migrations.py holds them to the "
    "migrations, the area tests to their behaviour",
    "gateway/halopsa/__init__.py": "re-exports (the package's public surface)",
    "gateway/halopsa/simulator/app.py": "the fake HaloPSA, tested as one package against the "
    "client (tests/halopsa/test_simulator.py)",
    "gateway/halopsa/simulator/state.py": "as simulator/app.py",
    "gateway/services/sync/__init__.py": "re-exports (the package's public surface)",
    "workers/__init__.py": "empty",
}
_MIRROR_ROOTS = {"gateway": ("tests",), "schema": ("tests", "api"), "workers": ("tests", "workers")}
_SERVICE_TEST_DIRS = (("tests", "services"), ("tests", "services", "sync"), ("tests", "api"))


def _mirrors(module: Path) -> list[Path]:
    """Where the test file of ``module`` (relative to ROOT) may be."""
    top, *middle, name = module.parts
    base = Path(*_MIRROR_ROOTS[top], *middle)
    if name == "__init__.py":  # the package's own code: test_<package>.py beside or inside
        package = middle[-1] if middle else {"schema": "schema", "workers": "workers"}[top]
        return [base / f"test_{package}.py", base.parent / f"test_{package}.py"]
    stem = name.removesuffix(".py")
    places = [base]
    if top == "schema" or (middle == ["services"]):  # an area's GraphQL and service tests
        places += [Path(*d) for d in _SERVICE_TEST_DIRS]
    return [p / f"test_{stem}.py" for p in places]


def _tested(candidate: Path) -> bool:
    path = ROOT / candidate
    return path.exists() or any(path.parent.glob(f"{path.stem}_*.py"))


def test_every_module_has_a_test_file_named_after_it() -> None:
    modules = [
        p.relative_to(ROOT)
        for top in ("gateway", "schema", "workers")
        for p in sorted((ROOT / top).rglob("*.py"))
        if "migrations" not in p.relative_to(ROOT).parts[:2]
    ]
    missing = [
        f"{m} (e.g. {_mirrors(m)[0]})"
        for m in modules
        if m.as_posix() not in NOT_MIRRORED and not any(_tested(c) for c in _mirrors(m))
    ]
    assert not missing, "modules without a mirrored test file:\n" + "\n".join(missing)
    stale = sorted(set(NOT_MIRRORED) - {m.as_posix() for m in modules})
    assert not stale, f"NOT_MIRRORED names modules that are gone: {stale}"
