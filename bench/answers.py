"""Offline answers to readers' questions about the sample publisher's wire stories.

    python bench/answers.py [--list]

Two sets of questions, both written here for the sample publisher's civic-wire articles:
- ``tests``: the questions of tests/test_offline_ai.py, which must all pass;
- ``readers``: questions put as a reader would put them, in other words than the article's
  ("Has anybody been hurt?", "How many schools shut?"), written before the answer rules were
  changed for them and kept whether or not the method answers them.

An answerable question counts as answered when the method answers and one of the sentences it
cites holds the expected words; an unanswerable one when the method says the article does not
say. ``--list`` prints every question the method gets wrong. Prints ``name: value`` lines.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from broadsheet.ai.offline import answer  # noqa: E402
from broadsheet.ai.sentences import split_sentences  # noqa: E402
from broadsheet.samplepub.corpus import load_corpus  # noqa: E402
from tests.test_offline_ai import (  # noqa: E402
    ANSWERABLE,
    FIRE,
    HOSPITAL,
    STRIKE,
    UNANSWERABLE,
    VANS,
)

# (article, question, words an answering sentence holds; several where either will do)
READERS_ANSWERABLE = [
    (FIRE, "Was anyone killed?", ("No one was killed",)),
    (FIRE, "Has anybody been hurt?", ("heat exhaustion",)),
    (FIRE, "How big was the area that burned?", ("3,400 hectares",)),
    (FIRE, "What started the fire?", ("cause of the fire", "thought to have started")),
    (FIRE, "How many firefighters fought the blaze?", ("About 600 firefighters",)),
    (FIRE, "When can residents go back?", ("allowed back from midday",)),
    (FIRE, "Will it rain soon?", ("forecasts rain",)),
    (FIRE, "How many houses were lost?", ("Eleven homes",)),
    (STRIKE, "Why are teachers striking?", ("over pay",)),
    (STRIKE, "How much of a raise do teachers want?", ("6 per cent",)),
    (STRIKE, "What has the government offered?", ("offered 3 per cent",)),
    (STRIKE, "How many schools shut?", ("287",)),
    (STRIKE, "What happens if talks fail?", ("If talks fail",)),
    (STRIKE, "Are private schools open?", ("Private schools",)),
    (STRIKE, "How long will the strike last?", ("two-day strike",)),
    (VANS, "Has anyone been injured?", ("No one was injured",)),
    (VANS, "How long does the repair take?", ("four hours",)),
    (VANS, "When will repairs start?", ("next month",)),
    (VANS, "How many vans were sold abroad?", ("6,000 abroad",)),
    (VANS, "What should owners do?", ("limit charging",)),
    (VANS, "How many fires have there been?", ("three of which led to fires",)),
    (VANS, "Which model is affected?", ("Cargo-E",)),
    (VANS, "Will owners have to pay for the fix?", ("free of charge",)),
    (HOSPITAL, "What kind of attack was it?", ("ransomware",)),
    (HOSPITAL, "Was patient data stolen?", ("copied or stolen",)),
    (HOSPITAL, "When will online booking work again?", ("48 hours",)),
    (HOSPITAL, "Is the emergency department still open?", ("emergency department",)),
    (HOSPITAL, "Who is investigating the attack?", ("criminal investigation",)),
    (HOSPITAL, "Are patient records safe?", ("medical records",)),
    # What readers are told to do.
    (HOSPITAL, "What should patients do?", ("should attend as planned", "contacted to rebook")),
    (VANS, "What do owners need to do?", ("limit charging",)),
    (HOSPITAL, "What should patients with cancelled appointments do?", ("contacted to rebook",)),
]
READERS_UNANSWERABLE = [
    (FIRE, "How much will rebuilding the homes cost?"),
    (FIRE, "What did the prime minister say?"),
    (FIRE, "Who was arrested?"),
    (STRIKE, "What did the minister of finance say?"),
    (STRIKE, "How much do teachers earn now?"),
    (STRIKE, "Who won the election?"),
    (VANS, "How much did Orrin shares fall?"),
    (VANS, "What is the name of the chief executive?"),
    (VANS, "What did the minister say about tariffs?"),
    (HOSPITAL, "How much ransom was demanded?"),
    (HOSPITAL, "Who won the cup final?"),
    (HOSPITAL, "What is the name of the chief executive?"),
]


def score(answerable, unanswerable, show: bool) -> tuple[int, int]:
    corpus = load_corpus()
    answered = declined = 0
    for slug, question, expected in answerable:
        item = corpus.article("civic-wire", slug)
        source = split_sentences(item.text())
        result = answer(question, item.title, item.text())
        options = (expected,) if isinstance(expected, str) else expected
        cited = [source[i] for c in result.sentences for i in c.citations]
        right = result.found and any(words in text for words in options for text in cited)
        answered += right
        if show and not right:
            print(f"missed: {question} -> {[c.text[:80] for c in result.sentences]}")
    for slug, question in unanswerable:
        item = corpus.article("civic-wire", slug)
        result = answer(question, item.title, item.text())
        declined += not result.found
        if show and result.found:
            print(f"answered: {question} -> {[c.text[:80] for c in result.sentences]}")
    return answered, declined


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="print the questions got wrong")
    args = parser.parse_args()
    for name, answerable, unanswerable in (
        ("tests", ANSWERABLE, UNANSWERABLE),
        ("readers", READERS_ANSWERABLE, READERS_UNANSWERABLE),
    ):
        answered, declined = score(answerable, unanswerable, args.list)
        print(f"answered.{name}: {answered}/{len(answerable)}")
        print(f"declined_unanswerable.{name}: {declined}/{len(unanswerable)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
