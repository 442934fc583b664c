"""`python -m merclip.ablate --cells`: cell names that contain a comma themselves can be selected."""
import pytest

from merclip.training.ablate import GRIDS, parse_cells


def test_cells_with_commas_in_their_names_are_matched_whole():
    known = list(GRIDS["components"])
    assert parse_cells("w/o CMD, LE,MER-CLIP", known) == ["w/o CMD, LE", "MER-CLIP"]
    assert parse_cells("MER-CLIP, w/o CMD, LE", known) == ["MER-CLIP", "w/o CMD, LE"]
    assert parse_cells("w/o CMD - w LE", known) == ["w/o CMD - w LE"]


def test_plain_comma_lists_and_unknown_names_pass_through():
    assert parse_cells("V,A, L,LVA", GRIDS["modalities"]) == ["V", "A", "L", "LVA"]
    assert parse_cells("V,nonsense", GRIDS["modalities"]) == ["V", "nonsense"]  # run_grid names the unknown one


def test_an_unknown_cell_is_refused_by_name(tmp_path):
    from merclip.training.ablate import main

    with pytest.raises(ValueError, match="unknown cells \\['nonsense'\\]"):
        main(["--grid", "components", "--cells", "MER-CLIP,nonsense", "--out", str(tmp_path), "--root", str(tmp_path)])


def _model_cfg(*flags):
    import argparse

    from merclip.training.options import add_data_args, add_model_args, model_config_from_args

    p = argparse.ArgumentParser()
    add_data_args(p)
    add_model_args(p)
    return model_config_from_args(p.parse_args(["--root", ".", "--clip-model", "merclip-tiny", *flags]))


# cell -> the command-line flags that build the same model: each cell is the model its flags would ask for
CELL_FLAGS = [
    ("modalities", "VA", ["--modalities", "VA"]),
    ("modalities", "L", ["--modalities", "L"]),
    ("components", "w/o CMD, LE", ["--no-cmd", "--no-le"]),
    ("components", "w CMD - w/o LE", ["--no-le"]),
    ("components", "MER-CLIP", []),
    ("labels", "sentence", ["--label-kind", "sentence"]),
    ("query", "Mood", ["--query-word", "Mood"]),
    ("query", "(none)", ["--query-word", "none"]),
]


@pytest.mark.parametrize("task", ["emotion", "sentiment"])
@pytest.mark.parametrize("grid,cell,flags", CELL_FLAGS)
def test_a_cell_is_the_base_config_with_the_cells_flags(task, grid, cell, flags):
    from merclip.training.ablate import cell_config

    base = _model_cfg("--task", task, "--cmd-mode", "sequence")
    assert cell_config(base, GRIDS[grid][cell]) == _model_cfg("--task", task, "--cmd-mode", "sequence", *flags)


def test_lsgmer_cells_switch_its_parts_off_and_other_families_cells_are_refused():
    from merclip.training.ablate import cell_config

    lsgmer = _model_cfg("--model", "lsgmer")
    assert cell_config(lsgmer, GRIDS["lsgmer"]["w/o LSE, APC"]) == _model_cfg("--model", "lsgmer", "--no-lse", "--no-apc")
    with pytest.raises(ValueError, match=r"sets \['use_cmd'\], which a lsgmer model does not have"):
        cell_config(lsgmer, GRIDS["components"]["w/o CMD - w LE"])
    with pytest.raises(ValueError, match=r"sets \['use_apc'\], which a merclip model does not have"):
        cell_config(_model_cfg(), GRIDS["lsgmer"]["w/o APC"])
