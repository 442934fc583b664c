"""Generated data that can transfer (issue #15 item 3): varied sentences, espeak-ng speech with emotional prosody,
and no overlap with the real-ish evaluation set."""
import itertools
import re

import numpy as np

from merclip.data import phrasebook, realish, speech, spoken_forms, synthetic


def _norm(text: str) -> str:
    return re.sub(r"[^a-z' ]", "", text.lower()).strip()


def test_sentences_are_many_and_varied_and_name_their_emotion():
    rng = np.random.default_rng(0)
    draws = [phrasebook.sentence([e], rng) for e in itertools.islice(itertools.cycle(phrasebook.FEELINGS), 3000)]
    assert len(set(draws)) > 2500  # not a handful of templates
    for emotion in phrasebook.FEELINGS:
        named = 0
        for _ in range(200):
            text = phrasebook.clause(emotion, rng)
            assert any(s.lower() in text.lower() for s in phrasebook.SITUATIONS[emotion])  # always the situation
            named += any(f in text for f in phrasebook.FEELINGS[emotion])
        assert 60 <= named <= 140  # about half also name the feeling
    assert phrasebook.sentence([], rng).rstrip(".").split(", ")[-1].lower() in {n.lower() for n in phrasebook.NEUTRAL} | {
        "that's all"}


def test_no_real_ish_sentence_or_situation_comes_out_of_the_phrasebook():
    held_out = [_norm(s) for s, _ in realish.SENTENCES]
    situations = [_norm(s) for e in phrasebook.SITUATIONS.values() for s in e] + [_norm(s) for s in phrasebook.NEUTRAL]
    assert not [(h, s) for h in held_out for s in situations if s in h]
    clauses = {_norm(f.format(feel=feel, sit=sit, Sit=sit)) for e in phrasebook.FEELINGS for f in phrasebook.FORMS
               for feel in phrasebook.FEELINGS[e] for sit in phrasebook.SITUATIONS[e]}
    assert len(clauses) > 30000 and not set(held_out) & clauses
    spoken = [_norm(t) for t, _ in spoken_forms.spoken_items(tuple(spoken_forms.EXCLAMATIONS), per_emotion=145)]
    assert len(spoken) > 600 and not set(held_out) & set(spoken)
    assert not [(h, x) for h in held_out for x in spoken if len(x.split()) >= 3 and x in h]


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z']+", " ", text.lower()).split()


def _five_grams(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + 5]) for i in range(len(words) - 4)}


def test_no_real_ish_sentence_shares_five_words_in_a_row_with_the_phrasebook():
    """Stricter than containing a whole phrase: a real-ish sentence may not even reuse five consecutive words of a
    situation, a neutral phrase or a sentence form (the {feel} / {sit} slots break a form into pieces, since any
    words may fill them). Single feeling words ("scared") are allowed: people say them."""
    phrases = [s for e in phrasebook.SITUATIONS.values() for s in e] + list(phrasebook.NEUTRAL)
    phrases += [x for e in spoken_forms.EXCLAMATIONS.values() for x in e]  # the demo's spoken text-only items too
    forms = (phrasebook.FORMS + phrasebook.SITUATION_FORMS + phrasebook.NEUTRAL_FORMS
             + tuple(f for e in spoken_forms.FRAMES.values() for f in e))
    pieces = phrases + [p for f in forms for p in re.split(r"\{\w+\}", f)]
    generator = set().union(*(_five_grams(_words(p)) for p in pieces))
    assert ("and", "that's", "all", "i", "can") in generator  # the check sees the forms' own words
    assert ("you", "never", "listen", "to", "me") in generator  # and the spoken forms' exclamations
    shared = [(s, sorted(_five_grams(_words(s)) & generator)) for s, _ in realish.SENTENCES]
    assert not [x for x in shared if x[1]]


def test_speech_style_segments_are_spoken_as_long_as_their_clip_and_seeded():
    a, b = synthetic.make_segments(3, seed=5, style="speech"), synthetic.make_segments(3, seed=5, style="speech")
    assert [s.text for s in a] == [s.text for s in b]
    for s in a:
        assert s.speech is not None and abs(len(s.speech) / synthetic.SAMPLE_RATE - (s.end - s.start)) < 0.01
        assert np.abs(s.speech).max() > 0.05
        named = synthetic.present_emotions(s.labels)
        assert (not named) == any(_norm(n) in _norm(s.text) for n in phrasebook.NEUTRAL)


def test_prosody_follows_the_emotion_angry_is_louder_and_faster_than_sad():
    text = "I will tell you what happened on the way home."
    rng = np.random.default_rng
    angry = speech.speak(text, speech.Prosody.for_emotions(["angry"], "en-us", rng(0)))
    sad = speech.speak(text, speech.Prosody.for_emotions(["sad"], "en-us", rng(0)))
    rms = lambda w: float(np.sqrt(np.mean(w**2)))  # noqa: E731
    assert rms(angry) > 1.5 * rms(sad)
    assert len(angry) < 0.75 * len(sad)  # same words, spoken faster
