"""Repository hygiene: CI runs exactly the README's test command; nothing unpickles."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", (ROOT / "README.md").read_text())


def test_ci_runs_the_readme_test_command_verbatim():
    test_cmd = [c for c in readme_commands() if "pytest" in c]
    assert len(test_cmd) == 1
    ci_lines = [l.strip() for l in (ROOT / ".ci" / "run").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert test_cmd[0] in ci_lines


def test_readme_app_command_starts_app_py():
    assert any(c.endswith("python app.py") and "requirements.txt" in c for c in readme_commands())


def test_requirements_pin_torch_exactly():
    req = (ROOT / "requirements.txt").read_text().splitlines()
    assert "torch==2.14.1" in req and "torchvision==0.29.1" in req


def test_no_unsafe_torch_load_in_the_package():
    for path in list((ROOT / "merclip").rglob("*.py")) + [ROOT / "app.py"]:
        if path.exists():
            for line in path.read_text().splitlines():
                assert "torch.load(" not in line or "weights_only=True" in line, f"{path}: {line}"


def _modules_imported_by(statement: str) -> set[str]:
    """The merclip modules that running `statement` in a fresh interpreter has imported."""
    import subprocess
    import sys

    code = f"import sys; {statement}; print(' '.join(m for m in sys.modules if m.split('.')[0] in ('merclip', 'open_clip')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_evaluation_export_and_data_loading_do_not_import_training():
    for module in ("merclip.training.evaluate", "merclip.training.export", "merclip.data.loading", "merclip.training.options"):
        imported = _modules_imported_by(f"import {module}")
        assert module in imported and "merclip.training.loop" not in imported, module


def test_the_data_code_reads_batches_without_open_clip():
    imported = _modules_imported_by("import merclip.data.features, merclip.models.batch, merclip.labels")
    assert "merclip.models.batch" in imported and "open_clip" not in imported and "merclip.models.merclip" not in imported


def _package_imports() -> dict[str, set[str]]:
    """module -> the merclip modules it imports anywhere in its text (top level or inside a function)."""
    import ast

    graph: dict[str, set[str]] = {}
    for path in (ROOT / "merclip").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")
                base = base[: len(base) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                found |= {f"{target}.{a.name}" for a in node.names} | {target}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
        graph[name] = found
    return {m: {t for t in targets if t in graph and t != m and t != "merclip"} for m, targets in graph.items()}


def test_no_module_of_the_package_imports_itself_back():
    graph = _package_imports()
    assert "merclip.training.evaluate" in graph["merclip.training.loop"]  # the check sees real imports

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            m = todo.pop()
            if m == goal:
                return True
            if m not in seen:
                seen.add(m)
                todo.extend(graph[m])
        return False

    circles = sorted((a, b) for a in graph for b in graph[a] if reaches(b, a))
    assert not circles, f"import circles through: {circles}"


# The wings of the house, bottom up (README "Layout"): a module may import its own wing and the wings below it.
GROUND = ("config", "errors", "arguments", "files", "labels", "memo", "device", "shipped", "spaces_support",
          "model_configs")
ENTRIES = ("train", "evaluate", "export", "ablate", "predict", "timeline", "eval_realish")
FLOORS = {"ground": 1, "media": 2, "pretrained": 3, "models": 4, "data": 5, "training": 6, "serving": 7, "studio": 8,
          "entries": 9}


def _wing(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in ENTRIES:
        return "entries"
    return "ground" if parts[1] in GROUND else parts[1]


def test_every_import_runs_down_the_house():
    graph = _package_imports()
    assert {_wing(m) for m in graph} == set(FLOORS), "a module outside the known wings: add it to README and FLOORS"
    upward = sorted(f"{m} -> {t}" for m, targets in graph.items() for t in targets
                    if FLOORS[_wing(t)] > FLOORS[_wing(m)])
    assert not upward, f"imports running back up the house: {upward}"
    assert "merclip.media.frames" in graph["merclip.media.clip"]  # the check sees real imports
