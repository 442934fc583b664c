"""Hugging Face Space readiness (issue #15 item 7): ZeroGPU detection, the decorator, start-up device, no compile."""
import sys
import types

import pytest

from merclip import spaces_support
from merclip.models.speed import SpeedConfig


@pytest.mark.parametrize("value,expected", [("true", True), ("1", True), ("True", True), ("false", False), ("", False)])
def test_zero_gpu_is_read_as_the_spaces_package_reads_it(value, expected):
    assert spaces_support.on_zero_gpu({"SPACES_ZERO_GPU": value}) is expected
    assert spaces_support.on_zero_gpu({}) is False


def test_gpu_entry_is_the_function_itself_without_the_package_and_spaces_gpu_with_it(monkeypatch):
    def analyse(x):
        return x + 1

    monkeypatch.setitem(sys.modules, "spaces", None)  # not installed: import fails
    assert spaces_support.gpu_entry(analyse) is analyse
    calls = []
    fake = types.ModuleType("spaces")

    def GPU(duration=60):  # noqa: N802 (the package's name)
        def wrap(fn):
            calls.append((fn.__name__, duration))
            return lambda *a: ("on gpu", fn(*a))
        return wrap

    fake.GPU = GPU
    monkeypatch.setitem(sys.modules, "spaces", fake)
    wrapped = spaces_support.gpu_entry(analyse, duration=30)
    assert wrapped(1) == ("on gpu", 2) and calls == [("analyse", 30)]


def test_model_goes_to_cuda_at_start_up_and_compile_is_off_under_zero_gpu(monkeypatch):
    zero = {"SPACES_ZERO_GPU": "true"}
    assert spaces_support.startup_device(None, zero) == "cuda"
    assert spaces_support.startup_device("cpu", zero) == "cpu"  # an explicit choice wins
    assert spaces_support.startup_device(None, {}) is None  # elsewhere: merclip.device decides
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    assert SpeedConfig.throughput("cuda").compile is False and SpeedConfig.throughput("cuda").bf16 is True
    monkeypatch.setenv("SPACES_ZERO_GPU", "false")
    assert SpeedConfig.throughput("cuda").compile is True


def test_the_apps_gpu_entry_points_carry_spaces_gpu_where_the_package_is_present(monkeypatch, studio):
    import app

    decorated = []
    fake = types.ModuleType("spaces")

    def GPU(duration=60):  # noqa: N802
        def wrap(fn):
            decorated.append(fn.__name__)
            return fn
        return wrap

    fake.GPU = GPU
    monkeypatch.setitem(sys.modules, "spaces", fake)
    app.build_app(studio)
    assert {"analyse", "query_words", "label_sets", "projection", "lsgmer", "zero_shot"} <= set(decorated)
    assert "transcript_from_file" not in decorated  # no model in it: no GPU to ask for


def test_readme_front_matter_names_the_sdk_and_python_versions_the_project_installs():
    from pathlib import Path

    from packaging.requirements import Requirement

    root = Path(__file__).resolve().parents[1]
    front = root.joinpath("README.md").read_text().split("---")[1]
    fields = dict(line.split(": ", 1) for line in front.strip().splitlines())
    assert fields["sdk"] == "gradio" and fields["app_file"] == "app.py"
    gradio_req = next(Requirement(l.split("#")[0].strip()) for l in root.joinpath("requirements.txt").read_text().splitlines()
                      if l.startswith("gradio"))
    assert gradio_req.specifier.contains(fields["sdk_version"])  # the Space runs a gradio the project accepts
    assert fields["python_version"].strip('"') in ("3.10", "3.11", "3.12")
