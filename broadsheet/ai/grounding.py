"""Check generated sentences against the article before a reader sees them.

A language model writes fluent text that may say things the article never said. Each generated
sentence is kept only when two things hold:

- it is *supported*: the article sentences it cites (or, when its citations are missing or
  wrong, the ones that best match it) contain most of its content words;
- it invents no *fact*: every number, date word and proper name in it occurs in the article.

Citation markers in generated text count from 1 (``[3]`` is the third sentence), because that is
how the prompt numbers the article; the ``Cited`` objects returned count from 0, like every other
sentence index in Broadsheet. The checker is a pure function over strings; checking a reply
against a typical article takes a few milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from broadsheet.ai.offline import Cited, terms
from broadsheet.ai.sentences import split_sentences

# A cited sentence set must hold this share of the generated sentence's content words...
CITED_SUPPORT = 0.5
# ...and when the checker has to find the support itself, it asks for more, since nothing
# but word overlap vouches for the match.
FOUND_SUPPORT = 0.6
MAX_CITATIONS = 3
MIN_CONTENT_WORDS = 2

MARKER_RE = re.compile(
    r"\[\s*(?:s(?:entence)?\s*)?(\d+(?:\s*(?:[,;]|-|\u2013|and)\s*(?:s(?:entence)?\s*)?\d+)*)\s*\]",
    re.IGNORECASE,
)
BULLET_RE = re.compile(r"^\s*(?:[-*\u2022\u2013]|\d+[.)]|\(\d+\))\s+")
NUMBER_RE = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?"
    r"(?:\s*(thousand|million|billion|trillion|bn|m|k)\b)?",
    re.IGNORECASE,
)
SCALES = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9}
SCALES["trillion"] = 1e12
# "m" and "k" also mean metres and kilometres: only spelled-out scales are held to their value.
LOOSE_SCALES = frozenset({"m", "k"})
UNITS = (
    *("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    *("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen"),
    *("eighteen", "nineteen"),
)
TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
NUMBER_WORDS = {w: i + 1 for i, w in enumerate(UNITS)}
NUMBER_WORDS |= {w: 20 + 10 * i for i, w in enumerate(TENS)}
NUMBER_WORDS |= {"dozen": 12, "hundred": 100}
# "one" is too often a pronoun ("one of the...") to be read as a claimed quantity.
CHECKED_NUMBER_WORDS = frozenset(NUMBER_WORDS) - {"one", "hundred"}
NUMBER_WORD_RE = re.compile(
    rf"\b(?:({'|'.join(TENS)})[-\s]({'|'.join(UNITS[:9])})|({'|'.join(NUMBER_WORDS)}))\b",
    re.IGNORECASE,
)
MONTHS = (
    *("january", "february", "march", "april", "june", "july", "august", "september"),
    *("october", "november", "december"),
)
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# "May" is left out: as a verb it opens too many sentences; mid-sentence it is checked as a name.
DATE_WORDS = frozenset((*MONTHS, *DAYS, "yesterday", "today", "tomorrow", "tonight"))
CAPITAL_RE = re.compile(r"[A-Z][A-Za-z]*(?:['\u2019][A-Za-z]+)?")
WORD_RE = re.compile(r"[A-Za-z]+")
# After these a capital letter is grammar, not a name.
OPENING_RE = re.compile(r"(?:^|[.!?:;\"\u201c(]\s*|\s[-\u2013\u2014]\s*)$")


class Dropped(NamedTuple):
    sentence: str
    reason: str


@dataclass
class GroundedResult:
    kept: list[Cited] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)


@dataclass(frozen=True)
class Claim:
    """A generated sentence with its markers removed and the 0-based indexes they named."""

    text: str
    cited: tuple[int, ...]


@dataclass
class Source:
    """The article, tokenised once for every sentence checked against it."""

    sentences: list[str]
    bags: list[set[str]]
    numbers: set[float]
    words: set[str]

    @classmethod
    def of(cls, sentences: Sequence[str], title: str = "") -> Source:
        sentences = [s for s in sentences if isinstance(s, str)]
        everything = " ".join([title, *sentences])
        return cls(
            sentences,
            [set(terms(s)) for s in sentences],
            numbers_in(everything, True),
            {_fold(w) for w in WORD_RE.findall(everything)},
        )


def check(
    generated: str | Sequence[str], article_sentences: Sequence[str], *, title: str = ""
) -> GroundedResult:
    """Keep the generated sentences the article supports; drop the rest, saying why."""
    source = Source.of(article_sentences, title)
    result = GroundedResult()
    for claim in claims(generated):
        citations, reason = judge(claim, source)
        if reason:
            result.dropped.append(Dropped(claim.text, reason))
        else:
            result.kept.append(Cited(claim.text, citations))
    return result


def judge(claim: Claim, source: Source) -> tuple[list[int], str]:
    """The article sentences backing ``claim``, or an empty list and the reason it fails."""
    content = set(terms(claim.text))
    if len(content) < MIN_CONTENT_WORDS:
        return [], "too short to check"
    invented = invented_fact(claim.text, source)
    if invented:
        return [], invented
    citations = supporting(claim, content, source)
    if not citations:
        return [], "not supported by the article"
    return citations, ""


# --- reading the generated text ------------------------------------------------------------


def claims(generated: str | Sequence[str]) -> list[Claim]:
    """One claim per generated sentence, whether given as raw text or as a list of lines."""
    items = [generated] if isinstance(generated, str) else generated
    lines = [line for item in items if isinstance(item, str) for line in item.splitlines()]
    units = [s for line in lines for s in split_sentences(_unbullet(line))]
    found: list[Claim] = []
    for unit in units:
        claim = parse_claim(unit)
        if claim.text:
            found.append(claim)
        elif found and claim.cited:
            # A marker split off after the full stop ("... rose. [4]") belongs to the sentence
            # before it.
            found[-1] = Claim(found[-1].text, found[-1].cited + claim.cited)
    return [c for c in found if not _is_label(c.text)]


def parse_claim(unit: str) -> Claim:
    cited: list[int] = []
    for match in MARKER_RE.finditer(unit):
        cited.extend(_marker_indexes(match.group(1)))
    text = MARKER_RE.sub("", unit)
    text = re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()
    return Claim(text if WORD_RE.search(text) else "", tuple(dict.fromkeys(cited)))


def _marker_indexes(inside: str) -> list[int]:
    numbers = [int(n) for n in re.findall(r"\d+", inside)]
    ranged = re.search(r"\d\s*(?:-|\u2013)\s*(?:s(?:entence)?\s*)?\d", inside, re.IGNORECASE)
    if ranged and len(numbers) == 2 and 0 < numbers[1] - numbers[0] < 10:
        numbers = list(range(numbers[0], numbers[1] + 1))
    return [n - 1 for n in numbers]


def _unbullet(line: str) -> str:
    return BULLET_RE.sub("", line).strip().strip("*").strip()


def _is_label(text: str) -> bool:
    """Headings such as "Key points:" are layout, not claims about the article."""
    return text.endswith(":") and len(text.split()) <= 8


# --- support -------------------------------------------------------------------------------


def supporting(claim: Claim, content: set[str], source: Source) -> list[int]:
    """The cited sentences when they carry the claim, else the best ones found, else nothing."""
    cited = [i for i in claim.cited if 0 <= i < len(source.sentences)]
    if cited and support(content, source, cited) >= CITED_SUPPORT:
        return cited
    found = best_support(content, source)
    return found if support(content, source, found) >= FOUND_SUPPORT else []


def support(content: set[str], source: Source, indexes: Sequence[int]) -> float:
    """The share of the claim's content words that the given article sentences contain."""
    if not content or not indexes:
        return 0.0
    covered = set().union(*(source.bags[i] for i in indexes))
    return len(content & covered) / len(content)


def best_support(content: set[str], source: Source) -> list[int]:
    """Greedily add the article sentence that covers most still-uncovered claim words."""
    chosen: list[int] = []
    left = set(content)
    while left and len(chosen) < MAX_CITATIONS:
        gains = [(len(left & bag), -i) for i, bag in enumerate(source.bags) if i not in chosen]
        gain, negative = max(gains, default=(0, 0))
        # A second or third sentence must bring at least two words, or it is padding.
        if gain == 0 or (chosen and gain < 2):
            break
        chosen.append(-negative)
        left -= source.bags[-negative]
    return sorted(chosen)


# --- facts ---------------------------------------------------------------------------------


def invented_fact(text: str, source: Source) -> str:
    """A reason naming the first number, date or name absent from the article, else ""."""
    for value, shown in numbers_with_text(text):
        if value not in source.numbers:
            return f"number not in the article: {shown}"
    for word in WORD_RE.findall(text):
        if word.lower() in DATE_WORDS and _fold(word) not in source.words:
            return f"date not in the article: {word}"
    for name in names(text):
        if _fold(name) not in source.words and _fold(name).rstrip("s") not in source.words:
            return f"name not in the article: {name}"
    return ""


def numbers_in(text: str, lenient: bool) -> set[float]:
    """Every quantity in ``text`` as a float; ``lenient`` also keeps the unscaled figure."""
    values: set[float] = set()
    for match in NUMBER_RE.finditer(text):
        base = _value(match)
        scale = (match.group(3) or "").lower()
        values.add(_round(base * SCALES.get(scale, 1.0)))
        if lenient or scale in LOOSE_SCALES:
            values.add(_round(base))
    values |= {value for value, _ in _number_words(text)}
    return values


def numbers_with_text(text: str) -> list[tuple[float, str]]:
    """The quantities a generated sentence asserts, each with the text that asserted it."""
    found = []
    for match in NUMBER_RE.finditer(text):
        scale = (match.group(3) or "").lower()
        multiplier = 1.0 if scale in LOOSE_SCALES else SCALES.get(scale, 1.0)
        found.append((_round(_value(match) * multiplier), match.group(0)))
    found += [
        (v, w)
        for v, w in _number_words(text)
        if w.lower() in CHECKED_NUMBER_WORDS or "-" in w or " " in w
    ]
    return found


def _number_words(text: str) -> list[tuple[float, str]]:
    found = []
    for match in NUMBER_WORD_RE.finditer(text):
        if match.group(1):
            value = NUMBER_WORDS[match.group(1).lower()] + NUMBER_WORDS[match.group(2).lower()]
            found.append((float(value), match.group(0)))
        else:
            found.append((float(NUMBER_WORDS[match.group(3).lower()]), match.group(3)))
    return found


def _value(match: re.Match) -> float:
    return float(match.group(1).replace(",", "") + (match.group(2) or ""))


def _round(value: float) -> float:
    return float(f"{value:.6g}")


def names(text: str) -> list[str]:
    """Capitalised words that are not capitalised merely for opening a sentence or quote.

    An opening word still counts when the next word is capitalised too, since then it starts
    a multiword name ("Prime Minister ...").
    """
    found = []
    matches = list(CAPITAL_RE.finditer(text))
    for k, match in enumerate(matches):
        word = match.group(0)
        if _fold(word) == "i" or word.lower() in DATE_WORDS:
            continue
        opening = OPENING_RE.search(text[: match.start()]) is not None
        joined = k + 1 < len(matches) and text[match.end() : matches[k + 1].start()] == " "
        if not opening or joined:
            found.append(word)
    return found


def _fold(word: str) -> str:
    """Lower case without a possessive or contracted ending: "Vellmark's" matches "Vellmark"."""
    return re.sub(r"['\u2019](?:s|ll|m|re|ve|d)?$", "", word.lower())
