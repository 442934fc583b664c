"""IEMOCAP and MELD loaders on fixtures written in their real layouts."""
import csv

import pytest
from conftest import make_clip, tone

from merclip.data import erc
from merclip.data.mosi_mosei import DatasetFormatError
from merclip.data.writer import write_wav


def _iemocap(root):
    rows = {  # session -> dialog -> [(utt, emo, start, end, text)]
        1: {"Ses01F_impro01": [("Ses01F_impro01_F000", "neu", 6.2, 8.2, "Excuse me."),
                               ("Ses01F_impro01_M000", "exc", 8.5, 10.0, "Do you have your forms?"),
                               ("Ses01F_impro01_F001", "xxx", 10.1, 12.0, "Yeah.")],
            "Ses01M_script02": [("Ses01M_script02_F000", "hap", 0.5, 2.0, "That's wonderful!"),
                                ("Ses01M_script02_M001", "sad", 2.5, 4.0, "I miss her.")]},
        2: {"Ses02M_script01": [("Ses02M_script01_M003", "fru", 1.0, 3.5, "This is the third time."),
                                ("Ses02M_script01_F002", "ang", 4.0, 5.0, "Stop it!")]},
    }
    for s, dialogs in rows.items():
        base = root / f"Session{s}"
        for dialog, utts in dialogs.items():
            (base / "dialog" / "EmoEvaluation").mkdir(parents=True, exist_ok=True)
            (base / "dialog" / "transcriptions").mkdir(parents=True, exist_ok=True)
            emo = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
            for utt, e, a, b, _ in utts:
                emo += [f"[{a:.4f} - {b:.4f}]\t{utt}\t{e}\t[2.5000, 2.5000, 2.5000]", "C-E2:\tNeutral;\t()", ""]
            (base / "dialog" / "EmoEvaluation" / f"{dialog}.txt").write_text("\n".join(emo))
            (base / "dialog" / "transcriptions" / f"{dialog}.txt").write_text(
                "\n".join(f"{utt} [{a:08.4f}-{b:08.4f}]: {t}" for utt, _, a, b, t in utts) + "\n")
            for utt, *_ in utts:
                write_wav(base / "sentences" / "wav" / dialog / f"{utt}.wav", tone(0.5))


def test_iemocap_setups_and_leave_one_session_out(tmp_path):
    _iemocap(tmp_path)
    four = erc.load_iemocap(tmp_path, "4class")
    assert [(u.clip_id, u.label) for u in four] == [
        ("Ses01F_impro01_F000", "neutral"), ("Ses01F_impro01_M000", "happy"), ("Ses01M_script02_F000", "happy"),
        ("Ses01M_script02_M001", "sad"), ("Ses02M_script01_F002", "angry")]
    assert four[1].transcript == "Do you have your forms?" and four[1].audio.is_file() and four[1].speaker == "M"
    assert (four[0].start, four[0].end) == (6.2, 8.2)
    six = erc.load_iemocap(tmp_path, "6class")
    assert sorted(u.label for u in six) == ["angry", "excited", "frustrated", "happy", "neutral", "sad"]
    for fold in (1, 2):  # leave-one-session-out: fold k tests on Session<k> and trains/validates on the others
        split = erc.iemocap_split(tmp_path, "6class", fold=fold)
        assert sorted(u.clip_id for u in split) == sorted(u.clip_id for u in six)  # every utterance, once
        test = {u.clip_id for u in split if u.split == "test"}
        assert test == {u.clip_id for u in six if u.split == f"Session{fold}"}
        assert all(u.video.suffix == ".wav" and u.audio is None for u in split)  # the utterance WAV is the media
    assert test == {"Ses02M_script01_M003", "Ses02M_script01_F002"}
    assert {u.split for u in split if u.split != "test"} == {"train", "valid"}  # Session1's 2 dialogues: 1 validates


def test_iemocap_missing_wav_and_transcript_are_counted_on_stderr(tmp_path, capsys):
    """An utterance without a WAV is left out and one without a transcription line gets "": both said, with counts."""
    _iemocap(tmp_path)
    (tmp_path / "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_M000.wav").unlink()
    trans = tmp_path / "Session2/dialog/transcriptions/Ses02M_script01.txt"
    trans.write_text("".join(ln + "\n" for ln in trans.read_text().splitlines() if "F002" not in ln))
    utts = {u.clip_id: u for u in erc.load_iemocap(tmp_path, "4class")}
    assert utts["Ses02M_script01_F002"].transcript == "" and utts["Ses01F_impro01_M000"].audio is None
    err = capsys.readouterr().err
    assert "IEMOCAP: 1 utterance(s) have no transcription line; their transcript is empty (language absent): " \
           "Ses02M_script01_F002" in err
    split = erc.iemocap_split(tmp_path, "4class", fold=1)
    assert "Ses01F_impro01_M000" not in {u.clip_id for u in split} and len(split) == len(utts) - 1
    assert "IEMOCAP: left out 1 utterance(s) with no WAV file under sentences/wav/: Ses01F_impro01_M000" in \
        capsys.readouterr().err


def test_iemocap_malformed_line(tmp_path):
    _iemocap(tmp_path)
    bad = tmp_path / "Session1" / "dialog" / "EmoEvaluation" / "Ses01F_impro01.txt"
    bad.write_text(bad.read_text() + "[1.0 - oops]\tSes01F_impro01_F009\tneu\n")
    with pytest.raises(DatasetFormatError, match="Ses01F_impro01.txt' line"):
        erc.load_iemocap(tmp_path)
    with pytest.raises(FileNotFoundError, match="no Session1..Session5"):
        erc.load_iemocap(tmp_path / "Session1")


def _meld(root):
    header = ["Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID", "Season",
              "Episode", "StartTime", "EndTime"]
    data = {"train": [("also I was the point person on my company’s transition", "Chandler", "neutral", "neutral", 0, 0),
                      ("Oh my God!", "Monica", "surprise", "positive", 0, 1)],
            "valid": [("That's disgusting.", "Ross", "disgust", "negative", 3, 0)],
            "test": [("Why do all you're coffee mugs have numbers on the bottom?", "Mark", "surprise", "positive", 0, 0)]}
    for split, rows in data.items():
        csv_name, folder = erc.MELD_SPLITS[split]
        with open(root / csv_name, "w", newline="", encoding="cp1252") as f:
            w = csv.writer(f)
            w.writerow(header)
            for i, (text, spk, emo, sent, d, u) in enumerate(rows, 1):
                w.writerow([i, text, spk, emo, sent, d, u, 3, 19, "00:14:38,127", "00:14:40,000"])
                make_clip(root / folder / f"dia{d}_utt{u}.mp4", 0.5, seed=i)


def test_meld_csvs_and_clips(tmp_path):
    _meld(tmp_path)
    utts = erc.load_meld(tmp_path)
    assert [(u.clip_id, u.label, u.sentiment) for u in utts] == [
        ("train_dia0_utt0", "neutral", "neutral"), ("train_dia0_utt1", "surprise", "positive"),
        ("valid_dia3_utt0", "disgust", "negative"), ("test_dia0_utt0", "surprise", "positive")]
    assert utts[0].transcript.endswith("company’s transition")  # Windows-1252 quote decoded
    assert all(u.video is not None and u.video.is_file() for u in utts)
    assert utts[1].dialogue_id == "train_dia0" and utts[1].speaker == "Monica"


def test_meld_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_sent_emo.csv' not found"):
        erc.load_meld(tmp_path)
    _meld(tmp_path)
    (tmp_path / "dev_sent_emo.csv").write_text("Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID\n1,hi,A,bored,neutral,0,0\n")
    with pytest.raises(DatasetFormatError, match="dev_sent_emo.csv' row 2: unknown emotion 'bored'"):
        erc.load_meld(tmp_path)
    (tmp_path / "test_sent_emo.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DatasetFormatError, match="lacks MELD columns"):
        erc.load_meld(tmp_path, splits=("test",))


def test_meld_utterance_without_media_is_a_counted_skip(tmp_path, capsys):
    """The official MELD release lacks some clips: they are skipped by name, not a TypeError in the decoder."""
    _meld(tmp_path)
    folder = erc.MELD_SPLITS["train"][1]
    (tmp_path / folder / "dia0_utt1.mp4").unlink()
    utts = erc.load_meld(tmp_path)
    assert [u.clip_id for u in utts] == ["train_dia0_utt0", "valid_dia3_utt0", "test_dia0_utt0"]
    assert f"MELD: skipped 1 utterance(s) with no media file: {folder}/dia0_utt1.mp4" in capsys.readouterr().err
