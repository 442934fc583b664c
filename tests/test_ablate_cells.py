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
