"""The speller: typos and a recognizer's sound-alikes become the pack's words, and nothing else does."""

import pytest

from voice_assistant.nlu.spelling import Speller, english_words

VOCABULARY = {"massage", "compresses", "signs", "bladder", "doctor", "away", "ligament", "painkillers", "heal",
              "menu", "back", "spasm", "wait", "numbness", "stones"}
FUNCTION_WORDS = frozenset({"a", "my", "it", "her", "in", "the", "to"})


@pytest.fixture(scope="module")
def speller():
    # PocketSphinx is a dependency: its dictionary is always there, and the repair needs it.
    assert english_words(), "PocketSphinx's pronunciation dictionary did not load"
    targets = VOCABULARY - {"wait"}
    return Speller(VOCABULARY, english_words(), targets, FUNCTION_WORDS)


@pytest.mark.parametrize("heard, meant", [
    ("would a back mass age help", "would a back massage help"),         # letters join exactly
    ("when should i see a doc tor", "when should i see a doctor"),
    ("hot and cold come presses", "hot and cold compresses"),            # same sounds, other words
    ("what are the warning sines", "what are the warning signs"),        # a homophone
    ("will it go a weigh on its own", "will it go away on its own"),
    ("i can not control my blad her", "i can not control my bladder"),   # a piece no dictionary knows
    ("can a torn liga meant cause this", "can a torn ligament cause this"),  # one phoneme off, long word
    ("pane killers for back spasm", "painkillers for back spasm"),
    ("numbnes in my leg", "numbness in my leg"),                         # a typo, as before
])
def test_a_recognizers_sound_alikes_become_the_packs_word(speller, heard, meant):
    assert speller.correct(heard) == meant


@pytest.mark.parametrize("text", [
    "my heel hurts in the morning",   # a short homophone ('heal') is a word of its own
    "my new sports shoes",            # small words join only when they sound exactly right ('menu')
    "wait go back",                   # a word the pack uses is never replaced
    "my back spasm",
    "i fell two storeys",             # a form the dictionary does not list ('storey' + s) is still a word
])
def test_real_words_that_only_resemble_the_packs_stay(speller, text):
    assert speller.correct(text) == text


def test_without_a_pronunciation_dictionary_only_letters_join():
    speller = Speller(VOCABULARY, frozenset({"mass", "age", "come", "presses", "warning", "sines"}), VOCABULARY, FUNCTION_WORDS,
                      pronunciations={})
    assert speller.correct("mass age") == "massage"
    assert speller.correct("come presses") == "compresses"  # one letter off
    assert speller.correct("warning sines") == "warning sines"  # nothing is known of how words sound


def test_a_form_of_a_known_word_stays_but_a_short_stem_proves_nothing():
    speller = Speller({"backs", "stones"}, frozenset({"bak", "storey"}), {"backs", "stones"}, FUNCTION_WORDS,
                      pronunciations={})
    assert speller.correct("two storeys") == "two storeys"     # 'storey' + s: a word
    assert speller.correct("my baks") == "my backs"            # 'bak' is a name in the dictionary, not a stem
