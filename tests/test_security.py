"""Over raw HTTP: no parameter can make the served app read a file outside its upload folders; text is
only text; bad input is a message and the server stays up; one upload analysed by many clients at once."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "assets" / "examples" / "happy_surprised.mp4"
SECRET_WORD = "giraffe"  # one BPE token: it would show up whole among the attention map's token labels


def _upload(base: str, path: Path) -> dict:
    """Upload like a browser does; returns the FileData the API takes (a path inside gradio's upload folder)."""
    with open(path, "rb") as f:
        r = httpx.post(f"{base}gradio_api/upload", files={"files": (path.name, f)}, timeout=30)
    r.raise_for_status()
    return {"path": r.json()[0], "meta": {"_type": "gradio.FileData"}, "orig_name": path.name}


def _file(path) -> dict:
    return {"path": str(path), "meta": {"_type": "gradio.FileData"}}


def _call(base: str, api: str, data: list) -> tuple[str, str]:
    """(event, payload text) of one raw API call: 'complete' with the outputs, or 'error' with the message."""
    url = f"{base}gradio_api/call/{api}"
    event_id = httpx.post(url, json={"data": data}, timeout=30).json()["event_id"]
    stream = httpx.get(f"{url}/{event_id}", timeout=120).text
    events = [line.split(": ", 1)[1] for line in stream.splitlines() if line.startswith("event: ")]
    payloads = [line.split(": ", 1)[1] for line in stream.splitlines() if line.startswith("data: ")]
    return events[-1], payloads[-1] if payloads else ""


def _analyse(video, transcript="hi", transcript_file=None, audio=None, label_kind="word", custom="", query="Emotion"):
    return [video, transcript, transcript_file, audio, "emotion", label_kind, custom, query, [], "mean"]


@pytest.fixture(scope="module")
def secret(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("outside") / "secret.txt"
    path.write_text(f"{SECRET_WORD} " * 8)
    return path


@pytest.fixture(scope="module")
def uploaded(served) -> dict:
    return _upload(served, EXAMPLE)


@pytest.fixture(scope="module")
def own_set(served, tmp_path_factory) -> dict:
    """An uploaded embeddings file, for the Projection tab's own-set endpoint."""
    from conftest import export_arrays

    from merclip.training.export import save_embeddings

    path = save_embeddings(tmp_path_factory.mktemp("own") / "own.npz", export_arrays(["calm", "tense"], n=8, clusters=2))
    return _upload(served, path)


def test_transcript_text_naming_a_server_file_is_only_text(served, uploaded, secret):
    """Text ending in .txt is never opened: a file's words would come back as attention token labels."""
    for text in (str(secret), f"../../..{secret}"):
        event, payload = _call(served, "analyse", _analyse(uploaded, transcript=text))
        assert event == "complete", payload
        assert SECRET_WORD not in payload and "secret" in payload  # the path's own words are the transcript
    event, payload = _call(served, "analyse", _analyse(uploaded, transcript="I saved it as notes.txt"))
    assert event == "complete" and "not found" not in payload and "notes" in payload


@pytest.mark.parametrize("api,slot", [("analyse", 0), ("analyse", 2), ("analyse", 3), ("lsgmer", 2), ("lsgmer", 3),
                                      ("query_words", 2), ("label_sets", 2), ("projection", 2), ("zero_shot", 2),
                                      ("projection_upload", 2), ("projection_upload", 6)])
def test_no_file_parameter_reads_outside_the_upload_folders(served, uploaded, own_set, secret, api, slot):
    data = {"analyse": _analyse(uploaded),
            "lsgmer": [uploaded, "hi", None, None],
            "query_words": [uploaded, "hi", None, None, "emotion", "word", "", ["Emotion"], ""],
            "label_sets": [uploaded, "hi", None, None, "emotion", "word", "", "sentence", "", "Emotion"],
            "projection": [uploaded, "hi", None, None, "fused", "t-SNE"],
            "projection_upload": [uploaded, "hi", None, None, "fused", "t-SNE", own_set],
            "zero_shot": [uploaded, "hi", None, "emotion", "word", ""]}[api]
    data[slot] = _file(secret)
    event, payload = _call(served, api, data)
    assert SECRET_WORD not in payload
    if api != "zero_shot":  # zero-shot answers "needs real weights" before it reads anything
        assert event == "error", payload
    assert str(secret.parent) not in payload  # no server path in the message either


BAD_TRANSCRIPT_FILES = {  # name -> (bytes, words the message must contain)
    "zero.txt": (b"", r"'zero.txt' is empty (0 bytes)"),
    "binary.txt": (b"\x7fELF\x02\x01\x01\x00" * 64, "'binary.txt' is a binary file"),
    "latin1.txt": ("na\xefve".encode("latin-1"), "'latin1.txt' is not UTF-8 text"),
    "broken.srt": (b"1\n00:00:0x,000 --> 00:00:02,000\nhello\n\n", "'broken.srt' is not a valid .srt"),
}


def test_bad_transcript_files_are_messages_and_the_server_stays_up(served, uploaded, tmp_path):
    for name, (content, text) in BAD_TRANSCRIPT_FILES.items():
        (tmp_path / name).write_bytes(content)
        event, payload = _call(served, "analyse", _analyse(uploaded, transcript="", transcript_file=_upload(
            served, tmp_path / name)))
        assert event == "error" and text in payload, (name, payload)
    (tmp_path / "good.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nwhat a wonderful time\n")
    event, payload = _call(served, "analyse", _analyse(uploaded, transcript="", transcript_file=_upload(
        served, tmp_path / "good.srt")))
    assert event == "complete" and "wonderful" in payload


def test_labels_that_look_like_paths_or_html_are_labels(served, uploaded, secret):
    labels = [str(secret), "<img src=x onerror=alert(1)>", "<b>calm</b>"]
    event, payload = _call(served, "analyse", _analyse(uploaded, label_kind="custom", custom="\n".join(labels)))
    assert event == "complete", payload
    probabilities = json.loads(payload)[2]
    assert list(probabilities) == labels and SECRET_WORD not in payload
    summary = json.loads(payload)[1]
    assert "<img" not in summary and "<b>" not in summary  # shown as text, not markup


def test_ten_thousand_labels_are_refused_by_name_of_the_limit(served, uploaded):
    custom = "\n".join(f"label {i}" for i in range(10_000))
    event, payload = _call(served, "analyse", _analyse(uploaded, label_kind="custom", custom=custom))
    assert event == "error" and "at most 256 labels, got 10000" in payload
    assert _call(served, "analyse", _analyse(uploaded))[0] == "complete"  # still serving


def test_one_upload_analysed_by_many_clients_at_once(served, uploaded):
    words = ["Emotion", "Mood", "Feeling", "Sentiment"]
    results, errors = {}, []

    def client(i: int) -> None:
        try:
            event, payload = _call(served, "analyse", _analyse(uploaded, transcript="what a day", query=words[i % 4],
                                                               label_kind="custom", custom=f"calm\nexcited\nset {i % 3}"))
            assert event == "complete", payload
            results[i] = json.loads(payload)[2]
        except Exception as exc:  # collected: an assert in a thread would be lost
            errors.append(repr(exc))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors and len(results) == 12
    for i, probs in results.items():  # the same request gives the same answer, whichever client sent it
        assert list(probs) == ["calm", "excited", f"set {i % 3}"]
        same = [results[j] for j in results if j % 12 == i % 12 or (j % 4 == i % 4 and j % 3 == i % 3)]
        assert all(p == pytest.approx(probs, abs=1e-5) for p in same)


def test_summary_shows_user_words_as_text_not_markup(studio):
    labels = ["<img src=x onerror=alert(1)>", "**calm**", "/etc/passwd"]
    result = studio.analyse(str(EXAMPLE), "hi", label_kind="custom", custom_labels="\n".join(labels),
                            query_word="<script>x</script>").result
    result.decisions = {label: True for label in result.labels}
    summary = studio.summary(result)
    assert "<img" not in summary and "<script>" not in summary and "**calm**" not in summary
    assert "&lt;img src=x onerror=alert(1)&gt;" in summary and r"\*\*calm\*\*" in summary and "/etc/passwd" in summary


def test_bad_input_through_the_library_and_the_studio(studio, tmp_path, secret):
    """The same corpus as over HTTP, one level down: each a UserError naming the problem, never a file's contents."""
    from merclip.errors import UserError

    predictor = studio.predictor
    r = predictor.predict(EXAMPLE, str(secret))  # a path typed as text is text
    assert SECRET_WORD not in " ".join(i for a in r.attention for i in a.items)
    a = studio.analyse(str(EXAMPLE), str(secret))
    assert SECRET_WORD not in " ".join(i for m in a.result.attention for i in m.items)
    for name, (content, text) in BAD_TRANSCRIPT_FILES.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(UserError) as err:
            predictor.predict(EXAMPLE, transcript_file=tmp_path / name)
        assert text in str(err.value)
        with pytest.raises(UserError) as err:
            studio.analyse(str(EXAMPLE), "", transcript_file=str(tmp_path / name))
        assert text in str(err.value)
    many = [f"label {i}" for i in range(10_000)]
    with pytest.raises(UserError, match="at most 256 labels, got 10000"):
        predictor.predict(EXAMPLE, "hi", labels=many)
    with pytest.raises(UserError, match="at most 256 labels, got 10000"):
        studio.analyse(str(EXAMPLE), "hi", label_kind="custom", custom_labels="\n".join(many))
    with pytest.raises(UserError, match="at most 300 characters"):
        predictor.predict(EXAMPLE, "hi", labels=["calm", "x" * 301])


def test_figures_show_user_words_as_text_not_markup(studio):
    labels = ["<img src=x onerror=alert(1)>", "<b>calm</b>"]
    a = studio.analyse(str(EXAMPLE), "<i>so</i> happy", label_kind="custom", custom_labels="\n".join(labels),
                       query_word="<script>x</script>")
    a.result.decisions = {label: True for label in a.result.labels}
    from merclip.serving import figures

    bars = figures.prediction_bars(a.result)
    shown = [*bars.data[0].x, *bars.data[0].hovertext, bars.layout.title.text]
    attention = figures.attention_maps(a.result)
    shown += [t for axis in ("xaxis", "xaxis2", "xaxis3") for t in (attention.layout[axis].ticktext or ())]
    shown += [trace.name for trace in figures.query_word_comparison({"<script>x</script>": a.result}).data]
    assert not any("<img" in s or "<b>" in s or "<i>" in s or "<script>" in s for s in shown), shown
    assert any("&lt;img src=x onerror=alert(1)&gt;" in s for s in shown)


LONE_SURROGATE = "so \ud800 happy"  # what a JSON request's "\ud800" escape becomes: a str that UTF-8 cannot encode


def test_a_lone_surrogate_in_any_text_is_a_message_naming_where(studio):
    """A str that UTF-8 cannot encode made the shipped model's tokenizer raise a TypeError deep in the text tower
    (an 'internal error'): each text parameter now says which one holds it, and where."""
    from merclip.errors import UserError

    clip, bad = str(EXAMPLE), LONE_SURROGATE
    transcript = "the transcript holds U\\+D800 at character 4"
    calls = [(transcript, lambda: studio.analyse(clip, bad)),
             (transcript, lambda: studio.lsgmer(clip, bad)),
             (transcript, lambda: studio.zero_shot(clip, bad)),
             (transcript, lambda: studio.timeline(clip, None, [[0, 1, bad]])),
             ("label 2 holds U\\+D800", lambda: studio.analyse(clip, "hi", label_kind="custom",
                                                               custom_labels=f"calm, {bad}")),
             ("query_word holds U\\+D800", lambda: studio.analyse(clip, "hi", query_word=bad)),
             ("query_word holds U\\+D800", lambda: studio.sweep_query_words(clip, "hi", extra_word=bad))]
    for where, call in calls:
        with pytest.raises(UserError, match=where) as err:
            call()
        str(err.value).encode("utf-8")  # the message itself is plain text
    assert studio.analyse(clip, "so 😀 happy").result.present["language"]  # a whole emoji is text


def test_a_lone_surrogate_over_http_is_a_message_and_the_server_stays_up(served, uploaded):
    """Raw JSON, as any client may send it: the escape is valid JSON and reaches the handler as a lone surrogate."""
    url = f"{served}gradio_api/call/analyse"
    body = json.dumps({"data": _analyse(uploaded, transcript=LONE_SURROGATE)})  # ensure_ascii: sent as "\ud800"
    event_id = httpx.post(url, content=body, headers={"content-type": "application/json"},
                          timeout=30).json()["event_id"]
    stream = httpx.get(f"{url}/{event_id}", timeout=120).text
    assert "event: error" in stream and "the transcript holds U+D800" in stream and "internal error" not in stream
    assert _call(served, "analyse", _analyse(uploaded))[0] == "complete"  # still serving
