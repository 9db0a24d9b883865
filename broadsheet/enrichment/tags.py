"""Hashtags for an article: the people, places, organisations and topics it is about.

Two kinds of candidate come out of the text. Names are runs of capitalised words ("Vellmark
Central Bank", "Ministry of Transport"), kept whole because a news site's tag for a bank is the
bank's name, not "Central". Topics are single lower-case words ("inflation", "crane"), reduced to
the singular and shown in title case. A shorter mention of a longer name in the same article
("the Central Bank", "the bank") counts for the longer one, so one thing gets one tag.

Candidates are ranked by how often the article uses them, weighted by how rare the words are in
general English (wordfreq's bundled frequency lists, read offline) and by where they appear: the
headline and the opening paragraph say what a story is about. No model, no download, about a
millisecond per article.
"""

from __future__ import annotations

import functools
import html
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache

import wordfreq
from django.utils.text import slugify

WORD_RE = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*['\u2019]?|[^\w\s]")
SENTENCE_END = frozenset('.!?:;"\u201c\u201d\u2014\u2013-|')
POSSESSIVE_RE = re.compile(r"['\u2019]s?$")
# Lower-case words allowed inside a name: "Ministry of Transport", "Bank of England".
CONNECTORS = frozenset({"of", "de", "du", "der", "von", "van", "la", "le", "del"})
# Function words and the vocabulary of news writing itself, never a tag. Weekdays and months
# are here because they are capitalised but name a date, not a thing.
STOP_WORDS = frozenset(
    """
    a about above after again against all almost also although always am among an and another
    any are around as at away back be became because become been before being below between
    both but by can cannot could did do does doing done down during each either else even ever
    every few for from further get gets got had has have having he her here hers herself him
    himself his how however i if in including inside into is it its itself just last least less
    like made make many may me might more most much must my myself near nearly neither never
    new next no nor not now of off often on once one only onto or other others our ours out
    over own per perhaps quite rather really same says said say saying see seen several shall
    she should since so some still such than that the their theirs them themselves then there
    these they this those though through throughout thus to today together told too toward
    towards under until up upon us very via was we well were what whatever when where whether
    which while who whom whose why will with within without would yet you your yours
    mr mrs ms dr according added asked called yesterday tomorrow week weeks year years month
    months day days time times way ways thing things lot lots part percent per cent
    monday tuesday wednesday thursday friday saturday sunday january february march april june
    july august september october november december
    """.split()  # noqa: SIM905 -- a word list reads better as prose
)
# Words more common than this (Zipf 5.5: about 300 per million words) say nothing of a story.
MAX_TOPIC_ZIPF = 5.5
# A word missing from the (small) frequency list is treated as very rare.
RARE_ZIPF = 1.0
# Crowds favour long words; past this length a word is no more a tag, only more abstract.
LONG_WORD = 10
NAME_BONUS = 0.4
ORG_WORDS = frozenset(
    """
    agency assembly association authority bank board bureau club college commission committee
    company corp corporation council court department energy fc federation foundation fund
    group hospital inc institute league ltd ministry motors office organisation organization
    parliament party police school senate service society team trust union university
    """.split()  # noqa: SIM905 -- a word list reads better as prose
)
PLACE_CUES = frozenset({"in", "at", "from", "near", "across", "outside", "around", "into"})
PERSON_CUES = frozenset({"mr", "mrs", "ms", "dr", "president", "minister", "senator", "judge"})


@dataclass(frozen=True)
class TagCandidate:
    name: str
    slug: str
    kind: str
    score: float


@dataclass
class _Token:
    text: str
    lower: str
    capitalised: bool
    sentence_start: bool
    block: int  # 0 = headline, 1 = first paragraph, 2 = the rest
    index: int  # words before this one in the body


@dataclass
class _Candidate:
    key: tuple[str, ...]
    forms: Counter = field(default_factory=Counter)
    count: int = 0
    capitals: int = 0
    in_title: bool = False
    first: int | None = None
    is_name: bool = False
    cues: Counter = field(default_factory=Counter)


@cache
def _frequencies(language: str) -> dict[str, float]:
    """Word → frequency from wordfreq's bundled list; empty for a language it lacks."""
    try:
        return wordfreq.get_frequency_dict(language, wordlist="small")
    except LookupError:
        return {}


def zipf(word: str, language: str) -> float:
    frequency = _frequencies(language).get(word, 0.0)
    return math.log10(frequency) + 9 if frequency > 0 else RARE_ZIPF


def extract_tags(title: str, text: str, language: str = "en", limit: int = 8) -> list[TagCandidate]:
    """Up to ``limit`` tags, best first; 3 or more unless the text is too short to hold them."""
    language = (language or "en").lower()[:2]
    tokens = _tokenize(title, text)
    lowered = {t.lower for t in tokens if not t.capitalised}
    candidates: dict[tuple[str, ...], _Candidate] = {}
    _collect_names(tokens, lowered, candidates, language)
    _collect_topics(tokens, lowered, candidates, language)
    _merge_into_names(candidates)
    words = max((t.index for t in tokens), default=0)
    ranked = sorted(
        (_to_tag(c, words, language) for c in candidates.values()), key=lambda t: -t.score
    )
    return _select(ranked, candidates, limit)


def _tokenize(title: str, text: str) -> list[_Token]:
    text = html.unescape(text or "")  # feeds and crowd data both carry stray "&rsquo;"
    blocks = [html.unescape(title or "")] + [p for p in text.split("\n") if p.strip()]
    tokens: list[_Token] = []
    words = 0
    headline_cased = _title_cased(title or "")
    for index, block in enumerate(blocks):
        position = min(index, 2)
        start = True
        for match in WORD_RE.finditer(block):
            word = match.group()
            if not word[0].isalpha():
                tokens.append(_Token(word, word, False, False, position, words))
                start = word in SENTENCE_END
                continue
            capitalised = word[0].isupper() and not (index == 0 and headline_cased)
            tokens.append(_Token(word, word.lower(), capitalised, start, position, words))
            words += index > 0
            start = False
    return tokens


def _title_cased(title: str) -> bool:
    """A Title Case Headline capitalises every word, so its capitals say nothing about names."""
    words = [w for w in re.findall(r"[^\W\d_]+", title) if w.lower() not in STOP_WORDS]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.8 * len(words)


def _is_break(token: _Token) -> bool:
    return not token.text[0].isalpha()


def _collect_names(tokens, lowered, candidates, language) -> None:
    start = 0
    for index, token in enumerate([*tokens, _Token(".", ".", False, False, 2, 0)]):
        if token.capitalised and not _is_break(token):
            possessive = POSSESSIVE_RE.search(token.text)
            if possessive and not _next_capitalised(tokens, index):  # "Aldport's east terminal"
                _add_name(tokens, start, index + 1, lowered, candidates, language)
                start = index + 1
            continue
        connects = token.lower in CONNECTORS and _next_capitalised(tokens, index)
        if connects and index > start:
            continue
        _add_name(tokens, start, index, lowered, candidates, language)
        start = index + 1


def _next_capitalised(tokens: list[_Token], index: int) -> bool:
    return index + 1 < len(tokens) and tokens[index + 1].capitalised


def _add_name(tokens, start, end, lowered, candidates, language) -> None:
    words = _trim_name(tokens[start:end], lowered, language)
    if not words:
        return
    if len(words) == 1 and not _name_worthy(words[0], lowered, language):
        return
    forms = (*tuple(w.text for w in words[:-1]), POSSESSIVE_RE.sub("", words[-1].text))
    key = tuple(POSSESSIVE_RE.sub("", f.lower()) for f in forms)
    candidate = candidates.setdefault(key, _Candidate(key, is_name=True))
    candidate.forms[" ".join(forms)] += 1
    _count(candidate, words[0])
    if start > 0:
        candidate.cues[tokens[start - 1].lower] += 1


def _trim_name(run: list[_Token], lowered: set[str], language: str) -> list[_Token]:
    """Drop what only looks like part of a name: a capitalised first word of a sentence that
    the article also writes in lower case, stop words, and dangling connectors."""
    words = list(run)
    while words and (
        _stop(words[0].lower)
        or (words[0].sentence_start and words[0].lower in lowered)
        or words[0].lower in CONNECTORS
    ):
        words.pop(0)
    while words and (_stop(words[-1].lower) or words[-1].lower in CONNECTORS):
        words.pop()
    return words


def _name_worthy(word: _Token, lowered: set[str], language: str) -> bool:
    """A lone capitalised word is a name unless it is an ordinary word at a sentence start."""
    bare = POSSESSIVE_RE.sub("", word.lower)
    if len(bare) < 2 or _stop(bare):
        return False
    if word.sentence_start:
        return bare not in lowered and zipf(bare, language) < MAX_TOPIC_ZIPF - 1
    return True


def _stop(word: str) -> bool:
    return POSSESSIVE_RE.sub("", word) in STOP_WORDS


def _count(candidate: _Candidate, token: _Token) -> None:
    if token.block == 0:
        candidate.in_title = True
        return
    candidate.count += 1
    candidate.capitals += token.capitalised
    if candidate.first is None:
        candidate.first = token.index


def _collect_topics(tokens, lowered, candidates, language) -> None:
    for token in tokens:
        if token.capitalised and token.lower not in lowered:
            continue
        word = POSSESSIVE_RE.sub("", token.lower)
        if not _topic_word(word, token, language):
            continue
        key = (singular(word, language),)
        candidate = candidates.setdefault(key, _Candidate(key))
        if not candidate.is_name:
            candidate.forms[key[0]] += 1
        _count(candidate, token)


def _topic_word(word: str, token: _Token, language: str) -> bool:
    return (
        len(word) >= 3
        and not _is_break(token)
        and "'" not in word
        and "\u2019" not in word
        and word not in STOP_WORDS
        and zipf(word, language) <= MAX_TOPIC_ZIPF
        and not (language == "en" and _modifier_or_verb(word))
    )


def _modifier_or_verb(word: str) -> bool:
    """Adverbs and past tenses ("sharply", "premiered") are keywords, but never a news tag."""
    return word.endswith("ly") or (len(word) > 5 and word.endswith("ed") and word[-3] != "e")


@functools.lru_cache(maxsize=65536)
def singular(word: str, language: str = "en") -> str:
    """The singular of an English plural noun when the word list knows it; else the word."""
    if language != "en" or len(word) <= 3 or word.endswith(("ss", "us", "is", "news")):
        return word
    for cut, add in (("ies", "y"), ("ches", "ch"), ("shes", "sh"), ("xes", "x"), ("s", "")):
        if word.endswith(cut) and word.endswith("s"):
            stem = word[: -len(cut)] + add
            known = stem in _frequencies(language) and stem not in STOP_WORDS
            if known and zipf(stem, language) >= zipf(word, language) - 1:
                return stem
    return word


def _merge_into_names(candidates: dict[tuple[str, ...], _Candidate]) -> None:
    """Credit each shorter mention to the longest name that contains it: "Central Bank" and
    "the bank" both belong to "Vellmark Central Bank" when the article names that bank."""
    names = sorted((c for c in candidates.values() if c.is_name), key=lambda c: -len(c.key))
    for short in sorted(candidates.values(), key=lambda c: len(c.key)):
        owner = _owner(short, names)
        if owner is not None:
            owner.count += short.count
            owner.capitals += short.capitals
            owner.in_title |= short.in_title
            owner.first = min(f for f in (owner.first, short.first, 1 << 30) if f is not None)
            del candidates[short.key]


def _owner(short: _Candidate, names: list[_Candidate]) -> _Candidate | None:
    for name in names:
        if len(name.key) <= len(short.key):
            continue
        if short.is_name and name.key[-len(short.key) :] == short.key:
            return name
        if not short.is_name and short.key[0] in _heads(name.key):
            return name
    return None


@functools.lru_cache(maxsize=65536)
def _heads(key: tuple[str, ...]) -> frozenset[str]:
    """The words that name the kind of thing: "bank" in "Vellmark Central Bank", "ministry"
    in "Ministry of Health". A surname is a suffix, but "Aldport" in "Aldport Port Authority"
    is a place of its own, so a name's first word never merges into it."""
    heads = {singular(key[-1])}
    if len(key) > 2 and key[1] in CONNECTORS:
        heads.add(singular(key[0]))
    return frozenset(heads)


def _to_tag(candidate: _Candidate, words: int, language: str) -> TagCandidate:
    name = _display(candidate)
    score = 1 / (1 + math.exp(-max(-30.0, _log_odds(candidate, words, language))))
    return TagCandidate(name, slugify(name), _kind(candidate), round(score, 4))


def _log_odds(candidate: _Candidate, words: int, language: str) -> float:
    """How likely readers would pick this as a keyword for the story, as log-odds.

    The weights are a logistic regression fitted on KPCrowd's dev half, where people marked
    the words a story is about (two-fold cross-validated P@5 equals the fitted one, so it is
    not memorised). Repetition and length count most; words of middling rarity (Zipf near 3)
    beat both everyday words and oddities; an early first mention and the headline help.
    """
    zipfs = [zipf(word, language) for word in candidate.key]
    z = min(zipfs)
    first = candidate.first if candidate.first is not None else words
    return (
        0.885 * math.log(max(candidate.count, 1))
        + 0.224 * candidate.in_title
        - 0.116 * first / max(words, 1)
        - 0.087 * math.log1p(first)
        + 0.469 * z
        - 0.0785 * z * z
        - 0.29 * candidate.capitals / max(candidate.count, 1)
        + 0.2411 * min(max(len(word) for word in candidate.key), LONG_WORD)
        - 1.4
        + _readability(candidate)
    )


def _readability(candidate: _Candidate) -> float:
    """What a news site's tags need beyond what crowds mark as keywords: the names of the
    people, places and organisations involved, and no verb mentioned once in passing."""
    if candidate.is_name:
        return NAME_BONUS
    if candidate.key[0].endswith("ing") and candidate.count < 2:
        return -1.0
    return 0.0


def _display(candidate: _Candidate) -> str:
    if candidate.is_name:
        return candidate.forms.most_common(1)[0][0]
    return candidate.key[0][:1].upper() + candidate.key[0][1:]


def _kind(candidate: _Candidate) -> str:
    if not candidate.is_name:
        return "topic"
    if any(word in ORG_WORDS for word in candidate.key):
        return "organisation"
    if any(cue in PERSON_CUES for cue in candidate.cues):
        return "person"
    place = sum(n for cue, n in candidate.cues.items() if cue in PLACE_CUES)
    return "place" if place * 3 >= sum(candidate.cues.values()) and place else "topic"


def _select(ranked, candidates, limit: int) -> list[TagCandidate]:
    """The best ``limit`` tags, each with a usable slug and a distinct one."""
    chosen: list[TagCandidate] = []
    slugs: set[str] = set()
    for tag in ranked:
        if len(chosen) >= limit:
            break
        if tag.slug and tag.slug not in slugs:
            chosen.append(tag)
            slugs.add(tag.slug)
    return chosen
