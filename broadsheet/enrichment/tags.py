"""Hashtags for an article: the people, places, organisations and topics it is about.

Two kinds of candidate come out of the text. Names are runs of capitalised words ("Vellmark
Central Bank", "Ministry of Transport"), cut at possessives and SHOUTED datelines and stripped
of titles ("Transport Minister"); topics are single lower-case nouns ("inflation", "crane"),
reduced to the singular. One thing gets one tag: a later mention of a name by its last word
("Oduya" after "Mara Oduya", "the Central Bank" after "Vellmark Central Bank"), a first name
alone, and a plain noun naming an organisation ("the bank") count for the full name. A person
the article itself calls by surname is tagged by surname, as news sites tag "#Obama"; a name
never shortened ("New York", "Ministry of Transport") keeps all its words.

English topics must read as nouns: adverbs, past tenses, comparatives and words the article
only uses as verbs or modifiers ("he will resign", "its main rate") are left out, judged from
the words around each use. Candidates are ranked by a logistic model of how often the article
uses them, how early (in its first hundred words, or not before its four hundredth), whether
the headline has them, how long and how rare they are in general use (wordfreq's bundled
lists, read offline), fitted on crowd-marked keywords of news stories; in a long article a
tag must be mentioned twice or be in the headline. Other languages get the same ranking with
names preferred. No model to load, no download; about a millisecond for a typical article
and a bounded cost for a huge one.
"""

from __future__ import annotations

import functools
import html
import math
import re
from collections import Counter
from dataclasses import dataclass, field

import wordfreq
from django.utils.text import slugify
from lemminflect import getAllLemmas

# Words (letters, inner apostrophes and hyphens, "U.S."-style initials), numbers, punctuation.
TOKEN_RE = re.compile(
    r"(?:[^\W\d_]\.){2,}|[^\W\d_]+(?:['\u2019\-][^\W\d_]+)*['\u2019]?|\d[\d.,]*\w*|[^\w\s]"
)
# Marks inside a sentence; after any other (full stop, bullet, dash, bracket) comes a new start.
MID_SENTENCE = frozenset(",'\u2019%&$/")
POSSESSIVE_RE = re.compile(r"['\u2019]s?$")
# Abbreviations whose full stop does not end a sentence.
ABBREVIATIONS = frozenset(
    "mr mrs ms dr st sen rep gov gen col lt sgt capt prof jr sr mt ft".split()  # noqa: SIM905
)
# Lower-case words allowed inside a name: "Charles de Gaulle", "Ministry of Transport".
CONNECTORS = frozenset({"of", "de", "du", "der", "von", "van", "la", "le", "del", "da", "di"})
# "of" joins two names only after a word naming an institution or a place.
OF_HEADS = frozenset(
    """
    academy agency assembly association authority bank board bureau chamber church city
    college commission committee council county court department district duke federation
    house institute kingdom league minister ministry museum office order party prince republic
    school secretary society state union university
    """.split()  # noqa: SIM905 -- a word list reads better as prose
)
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
    minute minutes hour hours
    monday tuesday wednesday thursday friday saturday sunday january february march april june
    july august september october november december
    two three four five six seven eight nine ten first second third
    across along behind beside beyond amid despite unlike versus plus ahead aboard alongside
    beneath underneath till
    copyright reserved rights reuters afp ap photo photos image images caption getty click
    goes ago means meanwhile
    http https www com org net html former latter hundred thousand million billion dozen
    hundreds thousands millions billions dozens
    anyone anything anybody anywhere everyone everything everybody everywhere someone
    something somebody somewhere nobody nothing nowhere none whichever whoever wherever
    whenever eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen
    twenty thirty forty fifty sixty seventy eighty ninety mon tue tues wed thu thur thurs fri
    jan feb apr jun jul aug sep sept oct nov dec
    came went took gave saw knew thought found left felt kept brought began ran won lost paid
    sent built held stood heard meant met led fell rose sold spoke wrote drove broke chose
    grew threw flew drew wore hid ate sat lay caught taught fought sought bought
    begun gone taken given known written spoken chosen driven broken thrown shown grown
    """.split()  # noqa: SIM905 -- a word list reads better as prose
)
# Units of measure and money say how much, not what about ("3,400 hectares", "180 million
# crowns"): such a word is no topic where most of its uses follow a figure. "The crown fell"
# in a currency story still is one, and "the Crown" or "Dollar General" is a name anyway.
UNIT_WORDS = frozenset(
    """
    metre meter kilometre kilometer centimetre centimeter millimetre millimeter mile yard foot
    feet inch hectare acre tonne ton kilogram kilo gram pound ounce litre liter gallon barrel
    degree celsius fahrenheit watt kilowatt megawatt gigawatt dollar euro yen yuan rupee franc
    crown krona kronor krone kroner peso cent pence penny
    """.split()  # noqa: SIM905 -- a word list reads better as prose
)
# "Line 4" is a name when "line" is an everyday word (a rare one before a number is more often
# a team with its score), and when no mark below ties the number to another ("Rovers 2-1").
NUMBERED_ZIPF = 4.0
NUMBER_JOINERS = frozenset("-\u2013\u2014:/")
SCALE_WORDS = frozenset({"hundred", "thousand", "million", "billion", "trillion", "bn"})
# Times of day say when ("this morning"), never what about.
TIMES_OF_DAY = frozenset(
    """
    morning afternoon evening tonight overnight midday midnight noon weekend
    """.split()  # noqa: SIM905 -- a word list reads better as prose
)
# Titles before a name: "President Obama" is tagged "Obama", and the title says it is a person.
ROLE_WORDS = frozenset(
    """
    mr mrs ms miss dr president vice minister prime senator sen rep representative
    congressman congresswoman gov governor mayor judge officer detective det sheriff coach
    chairman chairwoman chief ceo director gen colonel col lieutenant lt sergeant sgt captain
    capt professor prof secretary chancellor ambassador bishop archbishop rev reverend deputy
    spokesman spokeswoman spokesperson actor actress singer rapper striker manager
    """.split()  # noqa: SIM905 -- a word list reads better as prose
)
SPEECH_VERBS = frozenset(
    {"said", "says", "told", "added", "explained", "argued", "insisted", "wrote", "asked"}
)
PORTFOLIO_ROLES = frozenset({"minister", "secretary", "spokesman", "spokeswoman", "spokesperson"})
ORG_WORDS = frozenset(
    """
    agency assembly association authority bank board bureau club college commission committee
    company corp corporation council court department energy fc federation foundation fund
    group hospital inc institute league ltd ministry motors office organisation organization
    parliament party police school senate service society team trust union university
    airline airlines airport museum network press times post journal news
    """.split()  # noqa: SIM905 -- a word list reads better as prose
)
LEGAL_FORMS = frozenset({"inc", "ltd", "corp"})
# The last words of companies' names, which a story shortens to their first word ("Halvard"
# for "Halvard Energy"); a university, council or hospital is named after a place, and the
# place's name alone is the place ("Damascus" beside "Damascus University").
COMPANY_WORDS = LEGAL_FORMS | frozenset(
    {"motors", "energy", "corporation", "company", "group", "airline", "airlines"}
)
PLACE_WORDS = frozenset(
    """
    avenue bay beach boulevard bridge canyon city coast county district island islands lake
    mountain mountains ocean park port province region republic river road sea square state
    states street valley village
    """.split()  # noqa: SIM905 -- a word list reads better as prose
)
# Words that make a run of capitals something other than a person's name.
NOT_IN_PERSON = ROLE_WORDS | ORG_WORDS | PLACE_WORDS | CONNECTORS
PLACE_CUES = frozenset({"in", "at", "to", "from", "near", "across", "outside", "around", "into"})
# Words before a noun-phrase head ("the strike", "their schools") and after one (", of").
DETERMINERS = r"the|a|an|this|that|these|those|his|her|its|their|our|my|your|no|any|each|every"
PREPOSITIONS = r"in|on|at|for|with|among|from|about|against|without|by|into|of"
PHRASE_END = (
    r"of|in|on|at|to|for|and|or|but|is|was|are|were|has|had|have|will|would|that|which|who"
    r"|with|by|from|as|after|over|said|says|could|can|a|an|the|this|these|his|her|their"
)
# "the strike," and "a teachers' strike." head a noun phrase; so, less surely, does "in
# children." or "the general strike,".
NOUN_HEAD_RE = re.compile(
    rf"\b(?:(?P<det>{DETERMINERS}|[^\W\d_]+['\u2019]s)|(?:{PREPOSITIONS}))\s+"
    rf"(?:(?P<head>[a-z]+)\b|[a-z]+['\u2019]?\s+(?P<late>[a-z]+)\b)"
    rf"(?=\s*(?:[^\w\s]|(?:{PHRASE_END})\b))"
)
# Contexts that make the next word a verb or an adjective: "will resign", "was heavy",
# "to close the", and a name followed by a verb in the present ("Google faces").
VERB_CONTEXT_RE = re.compile(
    r"\b(?:will|would|can|could|may|might|must|should|shall|did|does|do|not|he|she|they|we"
    r"|i|who|which|is|was|are|were|be|been|being|become|became|very|so|too|more|most|also"
    # at a sentence's start (listed, not matched case-blind, which costs twice the time)
    r"|They|We|He|She|I|Do|Did|Does|Not|Will|Would|Can|Could|Should|Must|Who|Which|Is|Was"
    r"|Are|Were|Also)"
    r"(?=\s+([a-z]+)\b)"  # a look-ahead: in "do not charge" both "not" and "charge" count
    r"|n['\u2019]t\s+([a-z]+)\b"
    r"|\b[Tt]o\s+([a-z]+)\s+(?:the|a|an|his|her|their|its|this|that|him|them|it|us|me|one)\b"
    r"|(?<![.!?]\s)\b[A-Z][\w\u2019']*\s+([a-z]+s)"
    r"\s+(?:(?:the|a|an|his|her|their|its)\b|[A-Z\d])"
)
# Words more common than this (Zipf 5.5: about 300 per million words) say nothing of a story.
MAX_TOPIC_ZIPF = 5.5
# Other languages have no stop list here; their commonest words stop a little lower.
FOREIGN_TOPIC_ZIPF = 4.8
FOREIGN_NAME_BONUS = 1.0
# Crowds mark names a little less than nouns; a news site's tags need them a little more.
# (Costs about 0.005 of P@5 on KPCrowd.)
NAME_BONUS = 0.3
# A sentence's first word is taken for a name only when rarer than this, or capitalised
# elsewhere in the middle of a sentence.
NAME_START_ZIPF = 4.5
# A person is tagged by surname only when the surname is not an everyday word ("Young").
SURNAME_ZIPF = 5.0
# A word missing from the (small) frequency list is treated as very rare; a name, though,
# is ranked as no rarer than this.
RARE_ZIPF = 1.0
NAME_ZIPF = 3.0
# Crowds favour long words; past this length a word is no more a tag, only more abstract.
LONG_WORD = 14
# Word length says something of an English word, less of one in a language that inflects.
PLAIN_LENGTH = 7
MIN_TAGS = 3
# Crowds read a story from the top: a word in its first 100 words is marked more often, and
# one first met after 400 words less often, than its count alone says.
EARLY_WORDS = 100
LATE_WORDS = 400
# Below this many words an article is too short to say anything twice.
SHORT_TEXT = 150
# Tags come from the first 30,000 characters (about 5,000 words): the rest only costs time.
MAX_CHARS = 30_000
# Suffixes of English adjectives and verbs: such a word needs a noun use in the article.
MODIFIER_SUFFIXES = (
    *("al", "ic", "ous", "ful", "ive", "able", "ible", "less", "ish", "ing", "ant", "ent", "ar"),
    *("ary", "ian", "ern", "en"),
)


@dataclass(frozen=True)
class TagCandidate:
    name: str
    slug: str
    kind: str
    score: float


@dataclass(slots=True)
class _Candidate:
    key: tuple[str, ...]
    is_name: bool
    forms: dict[str, int] = field(default_factory=dict)
    count: int = 0  # mentions in the body
    in_title: bool = False
    first: int = -1  # words before the first mention in the body
    early: int = 0  # mentions within the body's first EARLY_WORDS words
    alone: int = 0  # mentions of a name by its last word only
    bound: int = 0  # uses of a topic word next to another content word
    cues: dict[str, int] = field(default_factory=dict)
    display: str = ""


@functools.cache
def _frequencies(language: str) -> dict[str, float]:
    """Word → frequency from wordfreq's bundled list; empty for a language it lacks."""
    try:
        return wordfreq.get_frequency_dict(language, wordlist="small")
    except LookupError:
        return {}


_ZIPFS: dict[str, dict[str, float]] = {}


def zipf(word: str, language: str) -> float:
    """The word's Zipf frequency (log10 of uses per billion words), memoised per language."""
    table = _ZIPFS.get(language)
    if table is None or len(table) > 500_000:  # a long-lived worker meets endless junk words
        table = _ZIPFS[language] = {}
    value = table.get(word)
    if value is None:
        frequency = _frequencies(language).get(word, 0.0)
        value = table[word] = math.log10(frequency) + 9 if frequency > 0 else RARE_ZIPF
    return value


def extract_tags(title: str, text: str, language: str = "en", limit: int = 8) -> list[TagCandidate]:
    """Up to ``limit`` tags, best first; 3 or more unless the text is too short to hold them."""
    language = (language or "en").lower()[:2]
    article = _read(language, title, text, everything=False)
    tags: list[TagCandidate] = []
    slugs: set[str] = set()
    # A tag must be what the article keeps coming back to: said twice, or in the headline.
    # Short texts, and articles that repeat too little, are filled up from the rest.
    for pick in (_salient if article.words >= SHORT_TEXT else None, None):
        if pick is None and not article.everything:
            article = _read(language, title, text, everything=True)
        pool = article.candidates if pick is None else filter(pick, article.candidates)
        for odds, candidate in sorted(((article.odds(c), c) for c in pool), key=_best_first):
            if len(tags) >= limit:
                break
            if not article.tag_worthy(candidate):
                continue
            slug = _slug(candidate.display)
            thing = _one_thing(slug, language)
            if slug and thing not in slugs:
                score = round(1 / (1 + math.exp(-max(-30.0, odds))), 4)
                tags.append(TagCandidate(candidate.display, slug, _kind(candidate), score))
                slugs.add(thing)
        if len(tags) >= min(limit, MIN_TAGS):
            break
    tags.sort(key=lambda tag: -tag.score)
    return tags


def _best_first(pair: tuple[float, _Candidate]) -> float:
    return -pair[0]


def _one_thing(slug: str, language: str) -> str:
    """What two tags of one article must not share: "teachers" and "teacher", "davis-cup-finals"
    and "davis-cup-final" are one thing, shown once."""
    return "-".join(singular(part, language) for part in slug.split("-"))


def _slug(name: str) -> str:
    """An ASCII slug ("zurich" for "Zürich"), or a Unicode one for a name in another script
    ("москва"), which ASCII would reduce to nothing."""
    slug = slugify(name)
    if len(slug) - slug.count("-") < sum(c.isalnum() for c in name):
        slug = slugify(name, allow_unicode=True)
    return slug[:100].strip("-")


def _salient(candidate: _Candidate) -> bool:
    return candidate.count >= 2 or (candidate.in_title and candidate.count >= 1)


@dataclass(slots=True)
class _Article:
    language: str
    candidates: list[_Candidate]
    words: int  # in the body
    contexts: _Contexts | None  # English only
    everything: bool  # False: a long article's words used once are left out

    def features(self, candidate: _Candidate) -> tuple[float, ...]:
        return _features(candidate, self.words, self.language)

    def odds(self, candidate: _Candidate) -> float:
        """Log-odds that readers take this for a keyword of the story, and a little more for
        a name the story repeats: the people, places and organisations a news site tags.
        Without English's plurals and parts of speech, a name is a surer tag than a word."""
        odds = _log_odds(self.features(candidate))
        if candidate.is_name:
            odds += NAME_BONUS * (candidate.count >= 2)
            odds += FOREIGN_NAME_BONUS * (self.language != "en")
        return odds

    def tag_worthy(self, candidate: _Candidate) -> bool:
        """Names always; English topics only where the article uses them as nouns."""
        if candidate.is_name or self.contexts is None:
            return True
        return _noun(candidate.key[0], self.contexts) and _noun_in_lexicon(candidate, self.contexts)


def _read(language: str, title: str, text: str, everything: bool = True) -> _Article:
    reader = _Reader(language)
    title = _spaced(html.unescape(title or "")[:MAX_CHARS])
    text = _spaced(html.unescape(text or ""))  # feeds and crowd data both carry stray "&rsquo;"
    if len(text) > MAX_CHARS:
        text = text[: text.rfind(" ", 0, MAX_CHARS) + 1 or MAX_CHARS]
    paragraphs = [p for p in text.split("\n") if p.strip()]
    for index, paragraph in enumerate(paragraphs):
        reader.read(paragraph, min(index + 1, 2))
    reader.read(title, 0, title_cased=_title_cased(title))
    everything = everything or reader.words < SHORT_TEXT
    candidates = reader.candidates(everything)
    _merge(candidates, language)
    title_words = [POSSESSIVE_RE.sub("", w.lower()) for w in TOKEN_RE.findall(title)]
    title_keys = {singular(w, language) for w in title_words} | set(title_words)
    title_line = f" {' '.join(title_words)} "
    for candidate in candidates.values():
        if not candidate.in_title:
            key = candidate.key
            candidate.in_title = (
                key[0] in title_keys if len(key) == 1 else f" {' '.join(key)} " in title_line
            )
    contexts = _contexts(f"{title}.\n{text}", reader) if language == "en" else None
    return _Article(language, list(candidates.values()), reader.words, contexts, everything)


def _title_cased(title: str) -> bool:
    """A Title Case Headline capitalises every word, and a SHOUTED one every letter, so their
    capitals say nothing about names."""
    words = [w for w in re.findall(r"[^\W\d_]+", title) if w.lower() not in STOP_WORDS]
    if sum(len(w) > 2 and w.isupper() for w in words) >= 2:
        return True
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.8 * len(words)


class _Reader:
    """Reads blocks of text into name runs and topic words, in one pass over the tokens."""

    def __init__(self, language: str):
        self.language = language
        self.words = 0
        self.modifier: Counter = Counter()  # uses right before another content word
        self.modified: Counter = Counter()  # uses right after another content word
        self.shapes: dict[str, str] = {}  # "iphone" → "iPhone"
        self.upper_inside: Counter = Counter()  # capitalised uses in mid-sentence
        # (words with their sentence-start and shouted flags, block, index, before, after)
        self.runs: list[tuple[list[tuple[str, bool, bool]], int, int, str, str]] = []
        self.topics: dict[str, list[int]] = {}  # word → [count, first, in title, early]
        self.after_figure: Counter = Counter()  # uses right after a figure ("12 metres")
        self.starts: Counter = Counter()  # capitalised only as a sentence's first word

    def read(self, block: str, position: int, title_cased: bool = False) -> None:
        run: list[tuple[str, bool]] = []
        start, previous, content = True, "", ""
        index = self.words if position else -1
        topics, modifier, modified = self.topics, self.modifier, self.modified
        pieces = TOKEN_RE.findall(block)
        for at, piece in enumerate(pieces):
            first = piece[0]
            if not first.isalpha():
                if piece == "." and run and self._keeps_run(run[-1][0]):
                    continue
                if first.isdigit() and len(run) == 1:
                    following = pieces[at + 1] if at + 1 < len(pieces) else ""
                    if self._numbered(run[0][0], piece, following):
                        # "Line 4", "Terminal 5", "Article 50": a name even at a sentence's start
                        run = [(run[0][0], False), (piece, False)]
                        self._flush(run, position, index, previous, following)
                        run, previous, content, start = [], piece, "", False
                        continue
                if run:
                    self._flush(run, position, index, previous, piece)
                    run = []
                if first.isdigit():  # "2 New Orleans cops": a number starts nothing
                    previous, content, start = piece, "", False
                    continue
                start = piece not in MID_SENTENCE or (start and piece in "'\u2019")
                previous, content = piece, ""
                continue
            if position:
                self.words += 1
            if _no_word(piece):
                if run:
                    self._flush(run, position, index, previous, piece)
                    run = []
                previous, content, start = piece.lower(), "", False
                continue
            if first.isupper() and (not title_cased or self._name_in_title(piece)):
                if not run:
                    index = self.words - 1 if position else -1
                run.append((piece, start))
                if position and not start:
                    self.upper_inside[piece.lower()] += 1
                if content:
                    modifier[content] += 1
                    content = ""
            elif run and piece in CONNECTORS and self._connects(run, piece):
                run.append((piece, False))
            else:
                if run:
                    self._flush(run, position, index, previous, piece)
                    run = []
                lower = piece.lower()
                if lower in STOP_WORDS:
                    content = ""
                else:
                    if lower != piece and not piece.isupper():
                        self.shapes[lower] = piece
                    entry = topics.get(lower)
                    if entry is None:
                        entry = topics[lower] = [0, -1, 0, 0]
                    if position:
                        entry[0] += 1
                        if entry[1] < 0:
                            entry[1] = self.words - 1
                        if self.words <= EARLY_WORDS:
                            entry[3] += 1
                    else:
                        entry[2] = 1
                    if content:
                        modifier[content] += 1
                        modified[lower] += 1
                    if previous[:1].isdigit() or previous in SCALE_WORDS:
                        self.after_figure[lower] += 1
                    content = lower
                previous = lower
            start = False
        if run:
            self._flush(run, position, index, previous, "")

    def _numbered(self, name: str, number: str, following: str) -> bool:
        """Whether ``number`` completes the one-word name before it, as in "Line 4" or "Article
        50": an everyday English noun, capitalised, then a number of up to three digits that no
        other figure or name follows (not a score, "United 2 City 1", nor a date). Not "Roughly
        200", "Obama 44" or "S&P 500": an adverb, a surname and an initial name no numbered
        thing."""
        if len(number) > 3 or not number.isdigit():
            return False
        if following[:1].isupper() or following[:1].isdigit() or following in NUMBER_JOINERS:
            return False
        word = name.lower()
        if self.language != "en" or len(word) < 3 or word in STOP_WORDS:
            return False
        return zipf(word, "en") >= NUMBERED_ZIPF and "NOUN" in _parts_of_speech(word)

    def _keeps_run(self, word: str) -> bool:
        """An initial ("George W. Bush") or a title ("Dr. Lee") does not end the name."""
        return len(word) == 1 or word.lower() in ABBREVIATIONS

    def _connects(self, run: list[tuple[str, bool]], connector: str) -> bool:
        return connector != "of" or run[-1][0].lower() in OF_HEADS

    def _name_in_title(self, token: str) -> bool:
        """In a Title Case headline, a word is a name when the body capitalises it, or when it
        is a rare word that the body does not use at all."""
        lower = token.lower()
        if lower in STOP_WORDS:
            return False
        entry = self.topics.get(lower)
        inside, plain = self.upper_inside[lower], entry[0] + entry[2] if entry else 0
        if inside or plain:
            return inside > plain
        return zipf(lower, self.language) < 3.5

    def _topic(self, word: str, position: int, index: int) -> None:
        entry = self.topics.get(word)
        if entry is None:
            entry = self.topics[word] = [0, -1, 0, 0]
        if position:
            entry[0] += 1
            if entry[1] < 0:
                entry[1] = index
            if index < EARLY_WORDS:
                entry[3] += 1
        else:
            entry[2] = 1

    def _flush(self, run, position: int, index: int, previous: str, following: str) -> None:
        """Split a run of capitalised words into names and file each: a possessive ends a name
        ("UConn's Maya Moore"), and a SHOUTED dateline is not part of the name beside it."""
        bare = [POSSESSIVE_RE.sub("", word) for word, _ in run]
        loud = _shouted(bare)
        part: list[tuple[str, bool, bool]] = []
        runs = self.runs
        for (word, start), plain, shouted in zip(run, bare, loud, strict=True):
            if part and shouted != part[-1][2]:
                runs.append((part, position, index, previous, ""))
                previous, part = part[-1][0].lower(), []
            if "-" in plain and any(p[:1].islower() for p in plain.split("-")):
                head = plain.split("-", 1)[0]
                if part and head[:1].isupper():  # "South Dakota-sized": the name ends there
                    part.append((head, start, shouted))
                if part:  # "Oscar-winning" alone describes; it names nothing
                    runs.append((part, position, index, previous, ""))
                previous, part = plain.lower(), []
                continue
            part.append((plain, start, shouted))
            if plain != word:
                runs.append((part, position, index, previous, ""))
                previous, part = plain.lower(), []
        if part:
            runs.append((part, position, index, previous, following.lower()))

    def candidates(self, everything: bool) -> dict[tuple[str, ...], _Candidate]:
        """Names and topic words; without ``everything``, only words used twice (in any
        form) or in the headline, the only ones a long article's tags come from."""
        found: dict[tuple[str, ...], _Candidate] = {}
        for run, position, index, previous, following in self.runs:
            if not _shouted_phrase(run):
                self._add_name(found, run, position, index, previous, following)
        language = self.language
        words = self.topics.items()
        if not everything:
            uses: Counter = Counter()
            for word, (count, _, in_title, _) in words:
                uses[singular(word, language)] += count + 2 * in_title
            words = [(w, entry) for w, entry in words if uses[singular(w, language)] >= 2]
        for word, (count, first, in_title, early) in words:
            if not _topic_word(word, language):
                continue
            key = (singular(word, language),)
            if key[0] in ROLE_WORDS or self._measure(word, key[0], count):
                continue
            candidate = found.get(key)
            if candidate is None:
                candidate = found[key] = _Candidate(key, is_name=False)
            if candidate.is_name:
                continue
            form = self.shapes.get(word, key[0])
            candidate.forms[form] = candidate.forms.get(form, 0) + count
            candidate.bound += self.modifier[word] + self.modified[word]
            _mention(candidate, count, first, in_title, early)
        return found

    def _measure(self, word: str, key: str, count: int) -> bool:
        """A unit (UNIT_WORDS) used mostly right after a figure."""
        return key in UNIT_WORDS and 2 * self.after_figure[word] >= count

    def _add_name(self, found, part, position, index, previous, following="") -> None:
        cue = previous
        person = _after_title(part)
        if person is not None:  # "Syrian President Bashar Assad": "Syrian", then a person
            title = person
            while title > 0 and part[title - 1][0].lower() in ROLE_WORDS:
                title -= 1
            # "Transport Minister Ivo Brandt": a minister's portfolio is no name of its own
            if title and part[title][0].lower() not in PORTFOLIO_ROLES:
                self._add_name(found, part[:title], position, index, previous)
            part, cue = part[person:], "mr"
        # Leading words that only look like a name: stop words and a sentence's first word.
        while part:
            word, start, shouted = part[0]
            lower = word.lower()
            plain = start and not shouted and not word.isupper() and self._plain(lower)
            stop = lower in STOP_WORDS and not (lower == "new" and len(part) > 1)
            if not (stop or lower in CONNECTORS or plain):
                break
            if plain and len(part) == 1:
                self._topic(lower, position, index)  # "Police said" counts for the topic
                self.starts[lower] += 1
            part = part[1:]
        while part and (part[-1][0].lower() in STOP_WORDS or part[-1][0].lower() in CONNECTORS):
            if _named_day(part):
                break
            part = part[:-1]
        if not part:
            return
        key = tuple(word.lower() for word, _, _ in part)
        if len(key) == 1 and (len(key[0]) < 2 or key[0] in ROLE_WORDS):
            return
        if all(word in ROLE_WORDS for word in key):
            return
        candidate = found.get(key)
        if candidate is None:
            candidate = found[key] = _Candidate(key, is_name=True)
        form = " ".join(w.title() if loud else w for w, _, loud in part)
        candidate.forms[form] = candidate.forms.get(form, 0) + 1
        candidate.cues[cue] = candidate.cues.get(cue, 0) + 1
        if following in SPEECH_VERBS:  # "Oduya said": a person
            candidate.cues["said"] = candidate.cues.get("said", 0) + 1
        if position:
            _mention(candidate, 1, index, 0, int(index < EARLY_WORDS))
        else:
            candidate.in_title = True

    def _plain(self, lower: str) -> bool:
        """Whether a capitalised first word of a sentence is an ordinary word."""
        if self.upper_inside[lower]:
            return False
        if self.language != "en":  # no word list to tell "Посолить" from a name: need both
            return True
        if lower in self.topics or zipf(lower, self.language) >= NAME_START_ZIPF:
            return True
        parts = _parts_of_speech(lower)  # "Additionally", "Investigate": no name, however rare
        if parts and not parts & {"NOUN", "PROPN"}:
            return True
        single = singular(lower, self.language)  # "Landlords say" beside "a landlord"
        return single != lower and (single in self.topics or _known_word(single, self.language))


# "we're", "don't", "they'll": a pronoun or a verb with its ending, never a tag.
CONTRACTION_RE = re.compile(r"(?:['\u2019](?:re|ll|ve|d|m|t)|n['\u2019]t)$", re.IGNORECASE)
# Scripts written without spaces (Chinese, Japanese, Thai, Lao, Khmer, Burmese): a token there
# is a whole phrase, and with no word segmenter at hand no tag can come from one.
UNSPACED_RE = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\uff66-\uff9f]+"
)


def _spaced(text: str) -> str:
    """The text with its runs of unspaced scripts set apart, so that a name written in another
    script right beside them ("Kindleのアプリ") is a token of its own."""
    if text.isascii() or not UNSPACED_RE.search(text):
        return text
    return UNSPACED_RE.sub(r" \g<0> ", text)


WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())  # noqa: SIM905
# Words that make a weekday a name of its own: "Black Friday", "Super Tuesday". Only these:
# "Biden Tuesday signed" is a name and a date.
NAMED_DAY_HEADS = frozenset("black cyber good super ash holy maundy palm easter bloody".split())  # noqa: SIM905


def _named_day(part) -> bool:
    """Whether a name ends with a day that belongs to it: "Memorial Day", "Black Friday"."""
    if len(part) < 2:
        return False
    last, before = part[-1][0].lower(), part[-2][0].lower()
    if last == "day":
        return before not in STOP_WORDS and before not in CONNECTORS
    return last in WEEKDAYS and before in NAMED_DAY_HEADS


def _no_word(token: str) -> bool:
    """Whether a token of letters can be no name and no topic (see CONTRACTION_RE and
    UNSPACED_RE); two cheap tests leave most tokens alone."""
    if ("'" in token or "\u2019" in token) and CONTRACTION_RE.search(token):
        return True
    return not token.isascii() and UNSPACED_RE.search(token) is not None


# A run of this many words in capitals is a shouted sentence or a caption, not a name
# ("CHRISTIE DIDN'T SPARK THE CORRUPTION IN NEW JERSEY" was once a tag); a shouted name is
# shorter.
MAX_SHOUTED_NAME = 5


def _shouted_phrase(part) -> bool:
    """Whether a run of words all in capitals is a phrase rather than a name: MAX_SHOUTED_NAME
    words or more, or three or more with a function word among them ("READ WHAT I POST";
    "BANK OF AMERICA" and "NEW YORK CITY" are names)."""
    if len(part) < 3 or not all(word.isupper() for word, _, _ in part):
        return False
    if len(part) >= MAX_SHOUTED_NAME:
        return True
    words = [word.lower() for word, _, _ in part]
    return any(word in STOP_WORDS and word != "new" and word not in CONNECTORS for word in words)


def _shouted(words: list[str]) -> list[bool]:
    """Which words are SHOUTED, as a dateline is: long capitals, and capitals beside them."""
    loud = [len(word) > 4 and word.isupper() for word in words]
    for order in (range(1, len(words)), range(len(words) - 2, -1, -1)):
        for i in order:
            neighbour = i - 1 if order.step == 1 else i + 1
            if not loud[i] and loud[neighbour] and len(words[i]) > 1 and words[i].isupper():
                loud[i] = True
    return loud


def _after_title(part) -> int | None:
    """Where a person's name starts after a title ("Prime Minister David Cameron")."""
    for i in range(len(part) - 1):
        if part[i][0].lower() not in ROLE_WORDS:
            continue
        if i and part[i - 1][0].lower() in CONNECTORS:
            continue
        rest = [word.lower() for word, _, _ in part[i + 1 :]]
        if not any(w in NOT_IN_PERSON for w in rest):
            return i + 1
    return None


def _mention(candidate: _Candidate, count: int, first: int, in_title: int, early: int) -> None:
    candidate.count += count
    candidate.early += early
    if first >= 0 and (candidate.first < 0 or first < candidate.first):
        candidate.first = first
    candidate.in_title = candidate.in_title or bool(in_title)


def _topic_word(word: str, language: str) -> bool:
    return (
        len(word) >= 3
        and word not in STOP_WORDS
        and word not in ROLE_WORDS
        and singular(word, language) not in TIMES_OF_DAY
        and word != "news"  # the trade's own word ("Fox News" stays a name)
        and "." not in word  # "a.m.", "e.g.": a capitalised "U.S." is a name, not a topic
        and "'" not in word
        and "\u2019" not in word
        and "-" not in word
        and zipf(word, language) <= (MAX_TOPIC_ZIPF if language == "en" else FOREIGN_TOPIC_ZIPF)
        and not (language == "en" and _modifier_or_verb(word))
    )


def _modifier_or_verb(word: str) -> bool:
    """Adverbs, past tenses and comparisons ("sharply", "premiered", "lowest") are keywords,
    but never a news tag."""
    if word.endswith("ly") or (len(word) > 5 and word.endswith("ed") and word[-3] != "e"):
        return True
    if len(word) == 5 and word.endswith("ed") and word[-3] != "e":  # "waded", not "shred"
        return _familiar(word[:-1])
    if len(word) > 5 and word.endswith("est"):  # "largest" beside "larger"
        return _familiar(word[:-3] + "er") or _familiar(word[:-2] + "r")
    if len(word) >= 5 and word.endswith("er"):  # "stronger" beside "strongest"
        return _familiar(word[:-2] + "est")
    return False


def _familiar(word: str) -> bool:
    """An English word in everyday use (at least one in a million words)."""
    return zipf(word, "en") >= 3.0


@dataclass(slots=True)
class _Contexts:
    """Where each lower-case word of an English article is used: heading a noun phrase right
    after a determiner, heading one after a modifier, where a verb or adjective goes, and
    before another word as a modifier."""

    heads: Counter
    late_heads: Counter
    verbal: Counter
    modifier: Counter
    uses: dict[str, list[int]]  # the reader's topic words: [body uses, first, in headline]
    starts: Counter  # uses as a sentence's first word


def _contexts(text: str, reader: _Reader) -> _Contexts:
    heads: Counter = Counter()
    late_heads: Counter = Counter()
    for match in NOUN_HEAD_RE.finditer(text):
        head = match["head"]
        if head and match["det"]:
            heads[head] += 1
        else:
            late_heads[head or match["late"]] += 1
    verbal: Counter = Counter()
    for groups in VERB_CONTEXT_RE.findall(text):
        for word in groups:
            if word:
                verbal[word] += 1
    return _Contexts(heads, late_heads, verbal, reader.modifier, reader.topics, reader.starts)


def _noun(word: str, seen: _Contexts) -> bool:
    """Whether an English topic word reads as a noun in this article."""
    plurals = () if word.endswith("s") else (word + "s", word + "es")
    forms = (word, *plurals)
    strict = sum(seen.heads[f] for f in forms)
    verbal = sum(seen.verbal[f] for f in forms)
    suffixed = word.endswith(MODIFIER_SUFFIXES) and not word.endswith("ment")
    evidence = strict
    if not word.endswith("ing"):  # "the company expecting" is no noun use of "expecting"
        evidence += sum(seen.late_heads[f] for f in forms)
    modifier = seen.modifier[word]
    against = verbal + (modifier if suffixed else 0)
    if evidence > against:
        return True
    if against:
        return False
    # Always right before another word, never heading a phrase: "its main rate", "west quay".
    uses = seen.uses.get(word)
    return not suffixed and not (modifier >= 2 and uses and modifier >= uses[0] + uses[2])


def _noun_in_lexicon(candidate: _Candidate, seen: _Contexts) -> bool:
    """False for a lower-case word that English only uses as another part of speech ("seem",
    "instead", "maybe"), by lemminflect's lexicon; a word it does not know may be a noun. So
    may a "verb" the article only writes at a sentence's start: news prose opens a sentence
    with an adverb ("Instead, ..."), not a bare verb, so "Google said" names the company."""
    for form in candidate.forms or candidate.key[:1]:
        if not form.islower():
            return True
        parts = _parts_of_speech(form)
        if not parts or "NOUN" in parts or "PROPN" in parts:
            return True
        uses = seen.uses.get(form)
        if "VERB" in parts and uses and seen.starts[form] >= uses[0] + uses[2]:
            return True
    return False


@functools.lru_cache(maxsize=65536)
def _parts_of_speech(word: str) -> frozenset[str]:
    return frozenset(getAllLemmas(word))


@functools.lru_cache(maxsize=65536)
def singular(word: str, language: str = "en") -> str:
    """The singular of an English plural noun when the word list knows it; else the word."""
    if language != "en" or len(word) <= 3 or word.endswith(("ss", "is", "news")):
        return word
    if word.endswith("us"):  # "menus", "Hindus"; but "virus", "campus" and "bus" stay
        stem = word[:-1]
        known = stem in _frequencies(language) and zipf(stem, language) >= zipf(word, language)
        return stem if known else word
    endings = (
        *(("ies", "y"), ("sses", "ss"), ("ches", "ch"), ("shes", "sh"), ("xes", "x")),
        *(("s", ""), ("men", "man")),
    )
    for cut, add in endings:
        if word.endswith(cut) and (cut != "men" or len(word) > 4):
            stem = word[: -len(cut)] + add
            known = stem in _frequencies(language) and stem not in STOP_WORDS
            if known and zipf(stem, language) >= zipf(word, language) - 1:
                return stem
    if word.endswith(("ers", "ors", "ists")) or (
        word[-1] == "s" and word[-2] not in "iousy'" and word not in _frequencies(language)
    ):
        return word[:-1]  # "policymakers", "millimetres": plainly plurals of rarer words
    return word


def _known_word(word: str, language: str) -> bool:
    return word in _frequencies(language)


def _merge(candidates: dict[tuple[str, ...], _Candidate], language: str) -> None:
    """One thing, one candidate: a shorter mention of a name ("Perry", "Central Bank") counts
    for the most-used longer name that ends with it (or starts with it, when a possessive cut
    it short), a plain noun naming the kind of organisation ("the bank") for the organisation,
    and a person's first name alone for the person. Then each gets the name it is shown by."""
    _merge_new(candidates)
    by_last: dict[str, list[_Candidate]] = {}
    by_start: dict[tuple[str, ...], list[_Candidate]] = {}
    for candidate in candidates.values():
        if candidate.is_name and len(candidate.key) > 1:
            by_last.setdefault(candidate.key[-1], []).append(candidate)
            by_start.setdefault(candidate.key[:2], []).append(candidate)
    for short in sorted(candidates.values(), key=lambda c: len(c.key)):
        owner = _owner(short, by_last.get(short.key[-1], ()))
        if owner is None and short.is_name and len(short.key) > 1 and _cut_short(short):
            # "Kessel General's bookings": the start of a longer name, cut by a possessive
            owner = _owner(short, by_start.get(short.key[:2], ()), start=True)
        if owner is None:
            continue
        _absorb(owner, short)
        if short.is_name and len(short.key) == 1:
            owner.alone += short.count + short.in_title
            _add_cues(owner, short)
        del candidates[short.key]
    _merge_first_names(candidates)
    _merge_company_short_names(candidates)
    _merge_numbered(candidates)
    surnames = Counter(c.key[-1] for c in candidates.values() if c.is_name and len(c.key) > 1)
    # "Kessel" named on its own makes "Kessel Rovers" a thing of Kessel's, not a person.
    places = {c.key[0] for c in candidates.values() if c.is_name and len(c.key) == 1}
    for candidate in candidates.values():
        candidate.display = _display(candidate, surnames, places, language)


def _cut_short(name: _Candidate) -> bool:
    """Whether a name can be the start of a longer one: "Kessel General" can, but "Brennan
    Bay" is a place of its own beside "Brennan Bay FC"."""
    return name.key[-1] not in PLACE_WORDS and name.key[-1] not in ORG_WORDS


def _merge_new(candidates: dict[tuple[str, ...], _Candidate]) -> None:
    """ "New South Dakota law" opening a sentence: "New" describes where the article mostly
    names the rest alone; "New York" and "New Delhi" keep it where they are named so."""
    for key in [key for key in candidates if len(key) > 1 and key[0] == "new"]:
        rest = candidates.get(key[1:])
        found = candidates[key]
        if rest is not None and rest.is_name and found.is_name and rest.count >= 2 * found.count:
            _absorb(rest, found)
            del candidates[key]


def _merge_first_names(candidates: dict[tuple[str, ...], _Candidate]) -> None:
    """ "Larry" alone counts for "Larry Page" when the article plainly names one person so."""
    people: dict[str, list[_Candidate]] = {}
    for candidate in candidates.values():
        if _a_person(candidate):
            people.setdefault(candidate.key[0], []).append(candidate)
    for first, owners in people.items():
        short = candidates.get((first,))
        if short is not None and short.is_name and len(owners) == 1:
            _absorb(owners[0], short)
            del candidates[short.key]


def _merge_company_short_names(candidates: dict[tuple[str, ...], _Candidate]) -> None:
    """ "Halvard" alone counts for "Halvard Energy": after the first mention a story calls a
    company by its first word (see COMPANY_WORDS). Only where the article names one company so
    and never uses the word as a place ("in Halvard"). "Google" and "Google Inc" are shown as
    "Google": a company's legal form is no part of its tag."""
    owners: dict[str, list[_Candidate]] = {}
    for candidate in candidates.values():
        if candidate.is_name and len(candidate.key) == 2 and candidate.key[1] in COMPANY_WORDS:
            owners.setdefault(candidate.key[0], []).append(candidate)
    for first, found in owners.items():
        short = candidates.get((first,))
        if short is None or not short.is_name or len(found) != 1:
            continue
        if any(cue in PLACE_CUES for cue in short.cues):
            continue
        owner, merged = found[0], short
        if owner.key[1] in LEGAL_FORMS:
            owner, merged = short, owner
        _absorb(owner, merged)
        _add_cues(owner, merged)
        del candidates[merged.key]


def _merge_numbered(candidates: dict[tuple[str, ...], _Candidate]) -> None:
    """ "the line" counts for "Line 4" where the article numbers only one line."""
    numbered: dict[str, list[_Candidate]] = {}
    for candidate in candidates.values():
        if candidate.is_name and len(candidate.key) == 2 and candidate.key[1].isdigit():
            numbered.setdefault(candidate.key[0], []).append(candidate)
    for word, found in numbered.items():
        short = candidates.get((word,))
        if short is not None and len(found) == 1:
            _absorb(found[0], short)
            del candidates[short.key]


def _absorb(owner: _Candidate, short: _Candidate) -> None:
    """Count ``short``'s mentions for ``owner``, the same thing by its fuller name."""
    owner.count += short.count
    owner.early += short.early
    owner.in_title = owner.in_title or short.in_title
    if short.first >= 0 and (owner.first < 0 or short.first < owner.first):
        owner.first = short.first


def _add_cues(owner: _Candidate, short: _Candidate) -> None:
    for cue, n in short.cues.items():
        owner.cues[cue] = owner.cues.get(cue, 0) + n


def _owner(short: _Candidate, names, start: bool = False) -> _Candidate | None:
    """The longest, then most-used, name that ends (or starts) with this shorter one."""
    best = None
    size = len(short.key)
    for name in names:
        if len(name.key) <= size:
            continue
        if short.is_name and (name.key[:size] if start else name.key[-size:]) != short.key:
            continue
        if not short.is_name and name.key[-1] not in ORG_WORDS:
            continue
        if best is None or (len(name.key), name.count) > (len(best.key), best.count):
            best = name
    return best


def _person_like(candidate: _Candidate) -> bool:
    key = candidate.key
    return (
        candidate.is_name
        and 2 <= len(key) <= 3
        and not any(w in CONNECTORS or w in ORG_WORDS or w in PLACE_WORDS for w in key)
        and not any(f.isupper() for f in _usual(candidate.forms).split())
    )


def _usual(forms: dict[str, int]) -> str:
    """The most used spelling; the first seen among equals."""
    return max(forms, key=forms.__getitem__)


def _by_surname(candidate: _Candidate) -> bool:
    return candidate.display != _usual(candidate.forms) and " " not in candidate.display


def _a_person(candidate: _Candidate) -> bool:
    """A person's name, by its shape and by a title before it or speech after it."""
    return _person_like(candidate) and ("mr" in candidate.cues or "said" in candidate.cues)


def _display(candidate: _Candidate, surnames: Counter, places: set[str], language: str) -> str:
    if not candidate.is_name:
        word = _usual(candidate.forms) if candidate.forms else candidate.key[0]
        word = word if word.lower() == candidate.key[0] else candidate.key[0]
        return word[:1].upper() + word[1:]
    full = _usual(candidate.forms)
    surname = candidate.key[-1]
    if (
        candidate.alone
        and _person_like(candidate)
        and (_a_person(candidate) or candidate.key[0] not in places)
        and surnames[surname] == 1
        and zipf(surname, language) < SURNAME_ZIPF
    ):
        return full.split()[-1]
    if full.islower():
        return full[:1].upper() + full[1:]
    return full


# Log-odds that the crowd marks a candidate as a keyword, from the features below: a logistic
# model fitted (`python bench/tags.py --fit`) on every other story of KPCrowd's dev half, where
# crowds marked the words a story is about; the other stories, unseen by the fit, score as well.
BIAS = -1.990
WEIGHTS = {
    "uses": 0.515,  # log(1 + mentions in the body)
    "once": -0.049,  # mentioned at most once
    "headline": 0.752,
    "first_share": -0.070,  # where the first mention falls, as a share of the body
    "first_words": -0.038,  # log(1 + words before the first mention)
    "zipf": 0.081,  # rarity in general use...
    "zipf_squared": -0.010,  # ...best in the middle: neither everyday nor odd
    "length": 0.087,  # letters in the longest word
    "name": -0.231,
    "several_words": -0.887,
    "long_name": -1.284,  # three words or more, no organisation or place: often two names run
    # together ("John Robinson Jessie J") or a caption; crowds mark a part of it, if anything
    "last_word_alone": -0.418,  # also called by its last word alone ("Perry", "the Bank")
    "beside_words": -0.546,  # share of uses right next to another content word
    "story_words": -0.198,  # log(1 + words in the body): the same for every candidate...
    "uses_by_story_words": 0.021,  # ...but it says what a count means
    "uses_in_headline": -0.171,  # uses, for a candidate also in the headline
    "name_in_headline": -0.305,
    "early": 0.370,  # log(1 + mentions in the first EARLY_WORDS words)
    "late": -0.321,  # first mentioned after LATE_WORDS words, or never in the body
    "log_length": 0.812,  # length again, with less said by each extra letter
}
_WEIGHTS = tuple(WEIGHTS.values())


def _features(candidate: _Candidate, words: int, language: str) -> tuple[float, ...]:
    """The values of the features in WEIGHTS, in that order."""
    shown = candidate.display.lower().split()
    z = min(zipf(word, language) for word in shown)
    if candidate.is_name:  # a surname missing from the word list is no oddity
        z = max(z, NAME_ZIPF)
    first = candidate.first if candidate.first >= 0 else words
    uses = math.log1p(candidate.count)
    story = math.log1p(words)
    headline = float(candidate.in_title)
    name = float(candidate.is_name)
    length = min(max(len(word) for word in shown), LONG_WORD) if language == "en" else PLAIN_LENGTH
    return (
        uses,
        float(candidate.count <= 1),
        headline,
        first / max(words, 1),
        math.log1p(first),
        z,
        z * z,
        length,
        name,
        float(len(shown) > 1),
        float(len(shown) > 2 and _kind(candidate) not in ("organisation", "place")),
        float(candidate.alone > 0),
        candidate.bound / max(candidate.count, 1),
        story,
        uses * story,
        uses * headline,
        name * headline,
        math.log1p(candidate.early),
        float(first >= LATE_WORDS),
        math.log(max(length, 1)),
    )


def _log_odds(features: tuple[float, ...]) -> float:
    return BIAS + sum(w * f for w, f in zip(_WEIGHTS, features, strict=True))


def _kind(candidate: _Candidate) -> str:
    if not candidate.is_name:
        return "topic"
    if any(word in ORG_WORDS for word in candidate.key):
        return "organisation"
    if "mr" in candidate.cues or _a_person(candidate) or _by_surname(candidate):
        return "person"
    if any(word in PLACE_WORDS for word in candidate.key):
        return "place"
    place = sum(n for cue, n in candidate.cues.items() if cue in PLACE_CUES)
    words = sum(n for cue, n in candidate.cues.items() if cue[:1].isalpha())
    return "place" if place and place * 3 >= words else "topic"
