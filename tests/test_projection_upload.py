"""Your own set in the Studio's projection: an uploaded export .npz, read as untrusted input (the allow-list, the
size limits, no unpickling, keys and shapes checked), coloured by its own labels, with the clip placed among it."""
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from conftest import export_arrays

from merclip.errors import UserError
from merclip.serving.projection import _fit, fit
from merclip.studio import Studio, StudioError
from merclip.training.export import save_embeddings

EXAMPLE = Path(__file__).resolve().parents[1] / "assets" / "examples" / "happy_surprised.mp4"
OWN_LABELS = ["calm", "tense", "excited"]


def _points(fig) -> dict[str, list[tuple[float, float]]]:
    """Each legend entry's points but the clip's star."""
    return {t.name: sorted(zip(t.x, t.y)) for t in fig.data if t.name != "this clip"}


def _expected_points(path, method="t-SNE") -> dict[str, list[tuple[float, float]]]:
    """The same fit's points, grouped by the file's targets read independently (one flag per label)."""
    proj = fit(str(path), "fused", method)
    with np.load(path, allow_pickle=False) as f:
        names, targets = list(f["label_names"]), f["targets"]
    group = [names[row.argmax()] if row.any() else "none" for row in targets]
    return {g: sorted(map(tuple, proj.coords[[i for i, h in enumerate(group) if h == g]])) for g in set(group)}


def test_an_uploaded_set_is_coloured_by_its_own_labels_with_the_clip_among_it(studio, tmp_path):
    path = save_embeddings(tmp_path / "my set.npz", export_arrays(OWN_LABELS, n=18))
    fig = studio.projection(str(EXAMPLE), "hello", space="fused", method="t-SNE", embeddings_file=str(path))
    points = _points(fig)
    assert set(points) == set(OWN_LABELS) and sum(map(len, points.values())) == 18
    assert points == _expected_points(path)
    star = [t for t in fig.data if t.name == "this clip"]
    assert len(star) == 1 and np.isfinite([star[0].x[0], star[0].y[0]]).all()
    title = fig.layout.title.text.replace("<br>", " ")
    assert "'my set.npz' fused embeddings (18 clips)" in title and "openTSNE transform" in title
    shipped = studio.projection(None, space="fused", method="t-SNE")  # without an upload: the shipped set, as before
    assert "happy" in _points(shipped) and "calm" not in _points(shipped)


def test_a_class_index_a_file_without_targets_and_another_models_width(studio, tmp_path):
    data = export_arrays(OWN_LABELS, n=12, width=32)
    data["targets"] = np.arange(12) % 3  # one class index per clip, as a sentiment export writes
    fig = studio.projection(str(EXAMPLE), "hello", method="t-SNE",
                            embeddings_file=str(save_embeddings(tmp_path / "classes.npz", data)))
    assert {name: len(p) for name, p in _points(fig).items()} == {"calm": 4, "tense": 4, "excited": 4}
    assert not [t for t in fig.data if t.name == "this clip"]  # 32-wide vectors: the tiny model's are 64
    assert "not placed: its fused embedding has 64 dimensions and the set's have 32" in fig.layout.title.text.replace(
        "<br>", " ")
    del data["targets"]
    fig = studio.projection(None, method="t-SNE", embeddings_file=str(save_embeddings(tmp_path / "bare.npz", data)))
    assert {name: len(p) for name, p in _points(fig).items()} == {"none": 12}


class _Touch:
    """Unpickling this creates a file: proof of whether anything was unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickled_array_is_refused_and_never_unpickled(studio, tmp_path):
    marker = tmp_path / "unpickled"
    pickle.loads(pickle.dumps(_Touch(marker)))
    assert marker.exists()  # the payload works: unpickling it would leave the marker
    marker.unlink()
    data = export_arrays(OWN_LABELS, n=6)
    data["ids"] = np.array([_Touch(marker)] * 6, dtype=object)
    path = tmp_path / "pickled.npz"
    np.savez(path, **data)
    with pytest.raises(StudioError, match="'pickled.npz' holds pickled Python objects in 'ids': they are never "
                                          "unpickled"):
        studio.projection(None, embeddings_file=str(path))
    assert not marker.exists()


def test_a_member_that_is_not_an_array_is_refused(studio, tmp_path):
    import zipfile

    path = save_embeddings(tmp_path / "extra.npz", export_arrays(OWN_LABELS, n=6))
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("notes", b"\0" * 2**20)  # np.load would hand these bytes over as they are, unchecked
    with pytest.raises(StudioError, match="'extra.npz' holds 'notes', which is not a .npy array"):
        studio.projection(None, embeddings_file=str(path))


@pytest.mark.parametrize("change,message", [
    (lambda d: d.pop("fused"), "'bad.npz' has no 'fused' array"),
    (lambda d: d.pop("label_names"), "has no 'label_names' array"),
    (lambda d: d.update(fused=d["fused"][:-1]), "'fused' has 7 rows; expected 8, one per clip in 'ids'"),
    (lambda d: d.update(vision=d["vision"][:, 0]), r"'vision' has shape \(8,\); expected one vector per row"),
    (lambda d: d.update(targets=d["targets"][:, :2]), r"'targets' has shape \(8, 2\); expected \(8,\) or \(8, 3\)"),
    (lambda d: d.update(probs=d["probs"][:, :2]), r"'probs' has shape \(8, 2\); expected \(8, 3\)"),
    (lambda d: d.update(targets=np.full(8, 3)), "a class index outside 0 to 2"),
    (lambda d: d.update(ids=d["ids"][:3], **{k: d[k][:3] for k in ("fused", "language", "vision", "audio", "probs",
                                                                     "targets", "sentiment")}), "at least 4 of them"),
    (lambda d: d["fused"].__setitem__((0, 0), np.nan), "'fused' holds NaN"),
    # these two have no cosine map: openTSNE failed inside on them (an internal error, not a message)
    (lambda d: d["fused"].__setitem__(2, 0), r"1 of its clips have an all-zero 'fused' embedding \(the first: row 3\)"),
    (lambda d: d.update(fused=d["fused"][:, :1]), "its 'fused' embeddings have 1 dimension; a 2-D map needs at least 2"),
])
def test_a_file_with_a_missing_key_or_a_mismatch_is_refused_by_name(studio, tmp_path, change, message):
    data = export_arrays(OWN_LABELS, n=8)
    change(data)
    with pytest.raises(StudioError, match=message):
        studio.projection(None, embeddings_file=str(save_embeddings(tmp_path / "bad.npz", data)))


def test_a_set_of_huge_values_is_mapped_like_any_other(studio, tmp_path):
    """Norms taken in float32 overflowed for values near 1e20 and made every vector zero (then NaN in t-SNE)."""
    data = export_arrays(OWN_LABELS, n=8)
    data["fused"] = data["fused"] * np.float32(1e20)
    fig = studio.projection(None, method="t-SNE", embeddings_file=str(save_embeddings(tmp_path / "huge.npz", data)))
    points = [p for group in _points(fig).values() for p in group]
    assert len(points) == 8 and np.isfinite(points).all()


def test_only_npz_files_from_the_allowed_roots_within_the_size_limits(tiny_ckpt, embeddings, tmp_path):
    uploads, elsewhere = tmp_path / "uploads", tmp_path / "elsewhere"
    data = export_arrays(OWN_LABELS, n=8)
    inside, outside = save_embeddings(uploads / "a.npz", data), save_embeddings(elsewhere / "b.npz", data)
    s = Studio(tiny_ckpt, embeddings, device="cpu", allowed_roots=[uploads])
    with pytest.raises(StudioError, match="'b.npz' is not an uploaded file"):
        s.projection(None, embeddings_file=str(outside))
    with pytest.raises(StudioError, match="is not an uploaded file"):
        s.projection(None, embeddings_file=str(uploads / ".." / "elsewhere" / "b.npz"))
    (uploads / "b.npz").symlink_to(outside)
    with pytest.raises(StudioError, match="is not an uploaded file"):
        s.projection(None, embeddings_file=str(uploads / "b.npz"))
    (uploads / "notes.txt").write_text("hello")
    with pytest.raises(UserError, match="unsupported file type '.txt'"):
        s.projection(None, embeddings_file=str(uploads / "notes.txt"))
    (uploads / "text.npz").write_text("not a zip at all")
    with pytest.raises(StudioError, match="'text.npz' is not an .npz file"):
        s.projection(None, embeddings_file=str(uploads / "text.npz"))
    small = Studio(tiny_ckpt, embeddings, device="cpu", allowed_roots=[uploads], max_file_mb=0.001)
    with pytest.raises(UserError, match="'a.npz' is .* MB; the limit is 0.001 MB"):
        small.projection(None, embeddings_file=str(inside))
    # zeros compress to almost nothing: the file is within the upload limit, its arrays far beyond 4x of it
    bomb = save_embeddings(uploads / "bomb.npz", data | {"fused": np.zeros((8, 2**17), np.float32)})
    assert bomb.stat().st_size < 0.1 * 2**20
    with pytest.raises(StudioError, match="'bomb.npz' unpacks to 4.\\d+ MB of arrays; the limit is 0.4 MB"):
        Studio(tiny_ckpt, embeddings, device="cpu", allowed_roots=[uploads], max_file_mb=0.1).projection(
            None, embeddings_file=str(bomb))


def test_the_fit_cache_tells_a_rewritten_file_from_the_first(studio, tmp_path):
    path = tmp_path / "upload.npz"
    save_embeddings(path, export_arrays(OWN_LABELS, n=9))
    first = studio.projection(None, method="t-SNE", embeddings_file=str(path))
    assert set(_points(first)) == set(OWN_LABELS)
    mtime = path.stat().st_mtime_ns
    save_embeddings(path, export_arrays(["low", "high"], n=10, clusters=2, seed=1))  # same path, another set
    os.utime(path, ns=(mtime + 10**9, mtime + 10**9))  # a later modification time, however coarse the clock
    second = studio.projection(None, method="t-SNE", embeddings_file=str(path))
    assert set(_points(second)) == {"low", "high"} and sum(map(len, _points(second).values())) == 10
    assert _fit.cache_info().maxsize == 16  # bounded: many uploads cannot hold every map


def test_the_real_ish_test_split_is_a_shipped_set_of_its_own(tiny_ckpt, embeddings, tmp_path):
    """Issue #25: the Projection tab shows the real-ish test split's embeddings beside the generated split's."""
    realish = save_embeddings(tmp_path / "realish.npz", export_arrays(["angry", "fear", "happy"], n=15))
    studio = Studio(tiny_ckpt, embeddings, device="cpu", realish_embeddings=realish)
    fig = studio.projection(None, space="fused", method="t-SNE", shipped_set="realish")
    assert "the real-ish test split's fused embeddings (15 clips)" in fig.layout.title.text.replace("<br>", " ")
    assert _points(fig) == _expected_points(realish)
    generated = studio.projection(None, space="fused", method="t-SNE")
    assert "the generated test split's" in generated.layout.title.text
    with pytest.raises(StudioError, match="unknown set 'mosei'"):
        studio.projection(None, shipped_set="mosei")
    without = Studio(tiny_ckpt, embeddings, device="cpu", realish_embeddings=tmp_path / "missing.npz")
    with pytest.raises(StudioError, match="no embeddings of the real-ish test split are loaded"):
        without.projection(None, shipped_set="realish")
