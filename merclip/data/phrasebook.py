"""Varied transcripts for generated clips: many feeling words, situations and sentence forms per emotion.

Why: the first generator said one of ~20 fixed phrases per clip, so a model trained on it
learned those phrases, not the emotions. With a frozen pretrained text tower (wordllama), a model can only
carry what it learns to *new* sentences if the training sentences are many and varied: here each emotion has
its own feeling words and ~27 situations, combined through ~27 sentence forms (half of them without a
feeling word: the situation alone carries the emotion), with hedges and fillers around them,
so that thousands of distinct sentences come out. Clips with two emotions say both; clips with none say a
neutral statement.

The real-ish evaluation set's first 66 sentences (merclip.data.realish_sentences) were written before this
phrasebook, the rest after it, all independently of it: tests/test_phrasebook.py checks that none of them can come
out of here, contains one of its phrases, or shares five words in a row with a situation, neutral phrase or form.
"""
from __future__ import annotations

import numpy as np

FEELINGS: dict[str, tuple[str, ...]] = {
    "happy": ("happy", "glad", "delighted", "thrilled", "overjoyed", "cheerful", "so pleased", "over the moon",
              "grateful", "excited", "proud", "on top of the world", "really content", "in a great mood", "joyful",
              "relieved and happy", "elated", "beaming"),
    "sad": ("sad", "heartbroken", "miserable", "down", "depressed", "gloomy", "devastated", "lonely", "unhappy",
            "hopeless", "crushed", "blue", "sorrowful", "gutted", "in tears", "really low", "grieving", "defeated"),
    "angry": ("angry", "furious", "livid", "annoyed", "outraged", "fed up", "irritated", "enraged", "fuming",
              "mad", "infuriated", "pissed off", "seething", "resentful", "so frustrated", "boiling with rage",
              "up in arms", "cross"),
    "surprise": ("surprised", "shocked", "amazed", "astonished", "stunned", "speechless", "caught off guard",
                 "taken aback", "blown away", "startled", "in disbelief", "gobsmacked", "flabbergasted",
                 "dumbfounded", "totally unprepared for that", "struck dumb", "bewildered", "astounded"),
    "disgust": ("disgusted", "grossed out", "repulsed", "sickened", "nauseated", "revolted", "appalled",
                "queasy", "put off", "horrified by the mess", "ready to throw up", "so icked out",
                "turned off completely", "physically sick", "offended by it", "full of contempt", "nauseous",
                "gagging"),
    "fear": ("afraid", "scared", "terrified", "frightened", "anxious", "nervous", "panicked", "worried sick",
             "petrified", "uneasy", "on edge", "shaking", "paralysed with fear", "dreading it", "alarmed",
             "jumpy", "horror-struck", "apprehensive"),
}

SITUATIONS: dict[str, tuple[str, ...]] = {
    "happy": ("my promotion came through", "we celebrated our anniversary at the beach", "my son took his first steps",
              "the concert tickets arrived", "my paper got accepted", "we adopted a puppy", "my best mate visited",
              "the surgery went perfectly", "I finished my first marathon", "grandma cooked for the whole family",
              "we got the house we wanted", "my band played a sold-out show", "the loan was approved",
              "my daughter graduated", "the sun came out for the picnic", "my novel found a publisher",
              "we won the pub quiz", "my plants finally flowered",
              "my brother beat his illness", "we finally paid off the mortgage", "the whole class cheered for me", "my old dog learned a new trick", "my best friend asked me to be godmother", "I was told my work saved the project", "we spent the whole day laughing at the fair", "my kid drew me a birthday card", "the band I love is touring here"),
    "sad": ("my cat died this morning", "the funeral was on Saturday", "my application was rejected again",
            "my parents are getting divorced", "my friend stopped calling me", "our old home was sold",
            "I missed my father's last days", "the shop I built had to close", "nobody remembered me",
            "my grandmother is in hospital", "my partner left without a word", "I was not invited",
            "the team cut me", "we lost the baby", "the letters from my mother stopped",
            "I spent the holidays by myself", "my dream school said no", "the village I grew up in is gone",
              "my childhood friend forgot who I am", "the last letter from my dad came today", "our team dissolved after ten years", "I watched the old oak being cut down", "my son doesn't want to visit anymore", "the hospice called tonight", "I had to put my horse down", "the photos of my mother were lost in the flood", "my grandfather's shop is empty now"),
    "angry": ("the builder took our money and vanished", "my neighbour blocked the driveway again",
              "the bank froze my account for no reason", "my boss yelled at me in front of everyone",
              "someone stole my bike", "the referee ignored the foul", "they raised the rent twice this year",
              "my brother broke his promise", "the call centre hung up on me", "they gave my seat away",
              "the council ignored our petition", "he keeps taking my food from the fridge",
              "the mechanic overcharged me", "they blamed me for their mistake", "the bus drove past me",
              "my roommate threw a party without asking", "the website deleted my order", "he insulted my mother",
              "they towed my car from my own street", "my coworker read my diary", "the airline lost my luggage and laughed", "they fired my friend for telling the truth", "someone keyed the door of my van", "my landlady entered without knocking", "the plumber never showed up after I paid", "they cut in line right in front of me", "the kids next door smashed my window"),
    "surprise": ("a stranger paid for my coffee", "my long-lost cousin showed up", "the quiet student won the prize",
                 "the package arrived a month early", "my parents announced they are moving abroad",
                 "the shy intern proposed a brilliant plan", "the old radio suddenly started working",
                 "my flight was upgraded to first class", "the election result flipped overnight",
                 "I bumped into my childhood friend in Tokyo", "the exam was cancelled at the last second",
                 "the cat came back after a year", "my shy uncle started dancing", "the price dropped by half",
                 "the magician pulled my ring out of an orange", "the road was suddenly closed",
                 "we found money in the old coat", "the ending of the film was completely unexpected",
              "the vending machine gave me ten cans", "my grandmother started a rock band", "it was my own brother behind the mask", "the tiny puppy turned out to be a wolf", "the lottery ticket in my drawer was a winner", "the teacher came to class in a gorilla suit", "my husband speaks fluent Japanese and never told me", "there was a hidden room behind the bookshelf", "the old phone rang with a call from my twin"),
    "disgust": ("the kitchen sink was full of rotten food", "there were maggots in the bin",
                "the toilet on the train was overflowing", "he picked his nose at the table",
                "the meat had turned green", "the hotel sheets were stained", "someone vomited on the bus",
                "the cheese was crawling with worms", "my roommate never washes the dishes",
                "the restaurant had rats in the back", "the pond was covered in slime",
                "he licked his fingers and touched everything", "the fridge smelled of rotten eggs",
                "the carpet was sticky with old beer", "they cheated the elderly out of their savings",
                "the soup had a dead fly in it", "the gym showers were crusted with grime",
                "he burped right in my face",
              "the dog rolled in something dead", "the fish tank had not been cleaned for months", "he clipped his toenails at the dinner table", "there was a used plaster in the salad", "the hostel kitchen was covered in grease", "my uncle spits when he talks", "the yoghurt was furry and blue", "the public pool had a brown film on top", "they sold rotten fruit as fresh"),
    "fear": ("the car skidded on the ice", "a man with a knife was outside the shop", "the smoke alarm went off at night",
             "the elevator got stuck between floors", "the dog ran at me growling", "the lump has to be tested",
             "the boat started taking on water", "I got lost in the forest after dark",
             "the earthquake shook the whole building", "my daughter didn't come home last night",
             "the brakes stopped working", "a stranger was watching my house", "the surgeon said it is risky",
             "the bridge was swaying in the wind", "the river was rising towards our door",
             "I heard a scream in the alley", "the turbulence would not stop", "the pills might not work",
              "the tyre burst on the motorway", "a snake slid under my sleeping bag", "the door handle turned while I was alone", "the test results are still not back", "the cliff path crumbled beneath me", "the lights went dead in the tunnel", "my chest started hurting on the flight", "the wolves howled right next to our tent", "the letter said they know where I live"),
}

NEUTRAL = ("I went to the post office", "we discussed the quarterly numbers", "the meeting starts at ten",
           "I usually take the train to work", "the report is due on Thursday", "we bought groceries for the week",
           "the printer is on the second floor", "I read the news this morning", "the store closes at eight",
           "we painted the fence last weekend", "my phone needs charging", "the bus comes every twenty minutes",
           "I have a dentist appointment tomorrow", "the library moved to a new building",
           "we ordered the parts online", "the weather will be mild tomorrow", "I updated my laptop",
           "the train was on time", "we planned the route for the trip", "I signed the form yesterday")

FORMS = (
    "I'm {feel} because {sit}.",
    "{Sit}, and I'm {feel}.",
    "Honestly, I feel {feel}: {sit}.",
    "I can't describe it, {sit} and I'm just {feel}.",
    "You know what, {sit}. I'm {feel}.",
    "I was {feel} when {sit}.",
    "{Sit}! I am {feel}.",
    "When I heard that {sit}, I felt {feel}.",
    "It's been a day: {sit}, so I'm {feel}.",
    "So {sit}, and I'm still {feel} about it.",
    "Let me tell you, {sit} and I'm {feel}.",
    "I feel {feel}. {Sit}.",
    "Can you believe {sit}? I'm {feel}.",
    "Yesterday {sit}, which left me {feel}.",
    "I'm honestly {feel}, {sit}.",
    "{Sit}. That's why I'm {feel}.",
    "Well, {sit}, so yeah, {feel}.",
    "My god, {sit}. Totally {feel}.",
)
# Forms that name only the situation: most of what people say about their feelings never names the feeling, so
# half of the emotional clauses leave the feeling word out and the situation alone must carry the emotion.
SITUATION_FORMS = ("{Sit}.", "So {sit}.", "Guess what, {sit}!", "You won't believe it, {sit}.", "{Sit}, can you imagine?",
                   "This week {sit}.", "Honestly, {sit}.", "I just found out {sit}.", "{Sit}, and that's all I can think about.")
FILLERS = ("", "", "", "Um, ", "So, ", "Well, ", "Okay so ", "Anyway, ", "Right, ")
NEUTRAL_FORMS = ("{sit}.", "So {sit}.", "Nothing much, {sit}.", "Just so you know, {sit}.", "Um, {sit}, that's all.")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def clause(emotion: str, rng: np.random.Generator) -> str:
    """One sentence expressing `emotion`: a situation of that emotion, with (half the time) a feeling word too."""
    forms = SITUATION_FORMS if rng.random() < 0.5 else FORMS
    form = forms[rng.integers(len(forms))]
    feel = FEELINGS[emotion][rng.integers(len(FEELINGS[emotion]))]
    sit = SITUATIONS[emotion][rng.integers(len(SITUATIONS[emotion]))]
    return form.format(feel=feel, sit=sit, Sit=_cap(sit))


def sentence(emotions: list[str], rng: np.random.Generator) -> str:
    """A transcript for a clip with these emotions (none: a neutral statement), with an occasional filler."""
    filler = FILLERS[rng.integers(len(FILLERS))]
    if not emotions:
        text = NEUTRAL_FORMS[rng.integers(len(NEUTRAL_FORMS))].format(sit=NEUTRAL[rng.integers(len(NEUTRAL))])
    else:
        order = [emotions[i] for i in rng.permutation(len(emotions))]
        text = " ".join(clause(e, rng) for e in order[:2])  # at most two emotions said aloud
    if filler and text.split(" ")[0].strip(",").lower() == filler.split(" ")[0].strip(",").lower():
        filler = ""  # no "So, so ..."
    if filler and not (text.startswith("I ") or text.startswith("I'")):  # "Well, my cat..." but "Well, I'm..."
        text = text[:1].lower() + text[1:]
    return filler + text if filler else _cap(text)
