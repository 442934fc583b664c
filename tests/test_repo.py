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
