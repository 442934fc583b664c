"""Text-only training items in the forms people speak emotions in: exclamations, questions, words addressed to
someone (this project's addition to the demo's recipe, not the paper's).

Why: the generated clips say their emotions in one register, a report ("I'm furious because the bus drove past
me"), and the generator's shared forms put the marks of surprise ("Can you believe ...?", "Guess what, ...!",
"You won't believe it") in front of every emotion, so a model trained on them learns that those marks mean nothing.
People in clips more often exclaim ("Whoa, no way!"), confront ("How dare you!") or plead ("Please don't leave
me here"); on real-ish dev the demo reads surprise worst and anger next. These items are transcripts with no face
and no voice, as the lexicon's are (merclip.data.lexicon): each emotion's own exclamations, and its own spoken
frames around the phrasebook's situations of that emotion, so every mark below belongs to one emotion only.

The forms were written for this module, not taken from the real-ish set; tests/test_phrasebook.py checks that no
real-ish sentence contains one of them or shares five words in a row with one, as for the phrasebook. The same
sessions wrote both, so docs/results.md (session 7) also scores sentences a helper wrote without reading the project.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from .phrasebook import SITUATIONS, _cap

# Said on their own: the whole item is the exclamation.
EXCLAMATIONS: dict[str, tuple[str, ...]] = {
    "happy": ("Yes! We actually did it!", "Hooray, best day ever!", "I could dance right now!",
              "I'm grinning from ear to ear.", "Life is good right now, really good.",
              "Thank you so much, this means the world to me!", "Woohoo, we made it!",
              "My face hurts from all this smiling.",
              "This is the nicest thing anyone has done for me.", "Everything is going my way today!"),
    "sad": ("I just want to cry.", "I miss you so much it hurts.", "Everything feels so empty now.",
            "It's really over, isn't it?", "I wish things could go back to how they were.",
            "Why does it always end like this for me?", "There's no one left to call.",
            "Nothing will ever be the same again.", "I can't stop the tears.", "I don't see the point anymore."),
    "angry": ("You have some nerve!", "Get out, right now!", "I've had enough of this!",
              "Don't you dare talk to me like that!", "That's it, I'm done with you!", "Stop it right now!",
              "You never listen to me, ever!", "This is completely unacceptable!", "Who do you think you are?",
              "Leave me alone and shut the door!"),
    "surprise": ("Wow!", "Whoa, no way!", "Is this for real?", "Really? Since when?", "Oh my gosh, I had no idea!",
                 "Seriously? That can't be right!", "I never saw that coming.", "Wait, what?", "You're kidding me!",
                 "Huh, well, that's new."),
    "disgust": ("Ew, gross!", "Yuck!", "That's revolting!", "Ugh, I think I'm going to be sick.",
                "Get that away from me, it stinks!", "That is so nasty.", "Eww, don't touch it!",
                "What is that smell? It's foul!", "I can't even look at it.", "That's vile."),
    "fear": ("Help me, please!", "Did you hear that noise?", "I'm shaking all over.", "Please don't hurt me.",
             "What if something happens to us?", "I don't want to go in there.", "Something's wrong, I can feel it.",
             "Stay close to me, please.", "There's somebody downstairs!", "My heart won't stop pounding."),
}

# Said around one of the phrasebook's situations of the same emotion ({sit}, {Sit}: capitalised).
FRAMES: dict[str, tuple[str, ...]] = {
    "happy": ("Yay, {sit}!", "Best news all week: {sit}!", "{Sit}, and I couldn't be more thrilled!",
              "I'm on cloud nine, {sit}!", "Finally, {sit}! What a feeling!"),
    "sad": ("{Sit}, and I can't stop crying.", "I keep thinking about it: {sit}.", "{Sit}... I just feel empty.",
            "It hurts so much, {sit}.", "I wish it weren't true, {sit}."),
    "angry": ("{Sit}, and I swear I'm going to lose it!", "How dare they, {sit}!",
              "I've had it up to here: {sit}!", "Enough! {Sit}!", "{Sit}, and nobody even apologised!"),
    "surprise": ("Wow, {sit}!", "Whoa, {sit}? Seriously?", "No way, {sit}!", "Wait, {sit}? Really?",
                 "Out of nowhere, {sit}!"),
    "disgust": ("Ew, {sit}!", "Yuck, {sit}.", "Ugh, {sit}, I nearly gagged.", "Gross, {sit}!",
                "{Sit}. It made my stomach turn."),
    "fear": ("Help, {sit}!", "{Sit}, and I couldn't breathe.", "What if it happens again? {Sit}.",
             "Please, {sit}, I'm shaking.", "I haven't slept since {sit}."),
}
ITEMS_PER_EMOTION = 60  # its exclamations, then frames around random situations up to this many


def spoken_items(labels: Sequence[str], per_emotion: int = ITEMS_PER_EMOTION,
                 seed: int = 0) -> list[tuple[str, tuple[str, ...]]]:
    """(text, (label,)) items for every label with spoken forms: each exclamation once, then frames filled with
    situations of the same emotion (fixed by `seed`) up to `per_emotion` distinct items per label."""
    known = [l for l in labels if l.lower() in EXCLAMATIONS]
    if not known:
        raise ValueError(f"no spoken forms for the labels {list(labels)}: they exist for {sorted(EXCLAMATIONS)}")
    fewest, most = fewest_items(l.lower() for l in known)
    if per_emotion > most:  # fewer would come out for some emotion than asked for, silently
        raise ValueError(f"{per_emotion} spoken items per emotion asked for; the forms make at most {most} for "
                         f"{fewest}")
    rng = np.random.default_rng(seed)
    items = []
    for label in known:
        emotion = label.lower()
        texts = list(EXCLAMATIONS[emotion])
        frames, situations = FRAMES[emotion], SITUATIONS[emotion]
        pairs = [(f, s) for f in frames for s in situations]
        for k in rng.permutation(len(pairs)):
            if len(texts) >= per_emotion:
                break
            frame, sit = pairs[k]
            texts.append(frame.format(sit=sit, Sit=_cap(sit)))
        items += [(_end_mark(t, rng), (label,)) for t in texts[:per_emotion]]
    return items


def fewest_items(emotions: Iterable[str] = EXCLAMATIONS) -> tuple[str, int]:
    """The emotion of `emotions` for which the forms make the fewest distinct spoken items (its exclamations and
    every frame around every situation of it), and that number: the most `spoken_items` can give per emotion."""
    counts = {e: len(EXCLAMATIONS[e]) + len(FRAMES[e]) * len(SITUATIONS[e]) for e in emotions}
    fewest = min(counts, key=counts.get)
    return fewest, counts[fewest]


def _end_mark(text: str, rng: np.random.Generator) -> str:
    """The text ending in "!" or "." at random (a question keeps its "?"). Why: the forms as written end angry and
    surprised items in "!" more often than happy or sad ones, and a model trained on them read the exclamation
    mark as anger (happy real-ish dev sentences ending in "!" came out angry); a random mark carries no emotion."""
    if text.endswith("?"):
        return text
    return text.rstrip(".!") + ("!" if rng.random() < 0.5 else ".")
