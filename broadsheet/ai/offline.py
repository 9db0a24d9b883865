"""Summaries, key points and answers built only from the article's own sentences.

Nothing here writes new text: every output is one article sentence, possibly shortened by
deleting words, and cites the index of the sentence it came from (``sentences.sentences``
numbering), so a page can highlight the source. Similarity is lexical (TF-IDF over the
article's sentences); it runs in a few milliseconds and keeps names and numbers, which carry
most of a news story, as strong signals. Only a question put in words the article does not use
("How many houses were lost?" of an article that says "homes") also reads static word vectors
(wordllama's, shipped in its wheel, loaded on first use: about 80 MB and half a second).
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from dataclasses import dataclass, field

from wordfreq import zipf_frequency

from broadsheet.ai.sentences import Sentence, sentences, wordset

log = logging.getLogger(__name__)

NOT_FOUND = "The article does not say."
MAX_TEXT = 200_000
# The sentence graph is quadratic; no news article runs this long, a hostile page may.
MAX_SENTENCES = 300

WORD_RE = re.compile(r"\w+", re.UNICODE)
NUMBER_RE = re.compile(r"\d")
NAME_RE = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+")
AMOUNT_RE = re.compile(r"\b(?:hundreds?|thousands?|dozens?|millions?|billions?)\b", re.I)
QUOTE_RE = re.compile(r"[\"\u201c\u201d]")
DATE_RE = re.compile(
    r"\b(?:\d{1,2}(?::\d\d)?\s?(?:a\.m\.|p\.m\.|am|pm)|\d{4}|monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday|january|february|march|april|may|june|july|august|september|"
    r"october|november|december|yesterday|today|tomorrow|tonight|morning|evening|week|month|"
    r"year|night|hours?|days?)\b",
    re.IGNORECASE,
)
FILLER_RE = re.compile(
    r"^(?:however|meanwhile|moreover|furthermore|in addition|additionally|also|but|and|so|"
    r"still|indeed|instead|separately|nonetheless|nevertheless|as a result|in fact|"
    r"at the same time|on the other hand|for its part)\b,?\s+",
    re.IGNORECASE,
)
# A sentence that sends the reader elsewhere ("The Civic Wire Service has the wider reaction.",
# "The full text is published on the Assembly's website.") is no summary or key point of the
# story, however many names it holds.
POINTER_RE = re.compile(
    r"\b(?:has|have|carries|gives)\s+(?:a\s+|the\s+)?(?:full\s+|detailed\s+|wider\s+)?"
    r"(?:details|account|report|reaction|guide|figures|background)\b"
    r"|\breport\s+(?:has|describes)\b"
    r"|\b(?:is|are|appear|appears)\s+(?:published\s+|available\s+|posted\s+)?on\s+"
    r"(?:the|its|our|their)\b[^.;]*\bwebsite\b"
    r"|^full\s+\w+\s+report\b|\bread\s+the\s+[^.;]*\breport\b"
    r"|\bdetails\s+are\s+in\b|\bare\s+in\s+the\s+[^.;]*\breport\b",
    re.IGNORECASE,
)
POINTER_PENALTY = 1.0
ASIDE_RE = re.compile(r"\s+\([^()]{1,80}\)(?=[\s,.;:!?])")
STOPWORDS = wordset(
    "a about above after again against all also am an and any are as at be because been before "
    "being below between both but by can could did do does doing down during each few for from "
    "further had has have having he her here hers herself him himself his how i if in into is it "
    "its itself just me more most my myself no nor not now of off on once only or other our ours "
    "out over own said same say says she should so some such than that the their theirs them "
    "then there these they this those through to too under until up very was we were what when "
    "where which while who whom why will with would you your yours will shall may might must "
    "also told tell according mr mrs ms dr s t its it's did does much many article"
)
# Words a question is put in rather than words of what it asks about: "Was anyone hurt?" asks
# whether someone was hurt, and an article that says "No one was hurt" answers it.
QUESTION_WORDS = wordset(
    "anyone anybody anything someone somebody something everyone everybody everything "
    "kind type sort happen happened happens"
)
# A question word the article never uses stands for the article's nearest word when their word
# vectors' cosine reaches this: "houses"/"homes" 0.76, "fix"/"repair" 0.81, "hurt"/"injured"
# 0.61, "shut"/"closed" 0.57, against 0.04-0.17 for "houses"/"schools", "fix"/"pay" or
# "shut"/"open".
SYNONYM_MIN = 0.5
# Only for words rarer than this: an everyday word ("still", "soon") has neighbours of every
# kind ("remain", "day") and says little of what is asked.
SYNONYM_MAX_ZIPF = 5.5
# Endings that are also words ("ment", "ship"): "payment" is still about paying. Other words
# after a question's word make a compound, another thing ("ransomware", "homeowners").
SUFFIX_WORDS = wordset("ment ments ness less able ible ship ships hood ing ings ion ions ers ed")
APART = "\u2060"  # a word joiner: the term of a word set apart from its compounds
HEADING_END_RE = re.compile(r"[.!?:;\"'\u201d\u2019)]\s*$")
HEADING_WORDS = 10
LIST_FACT_RE = re.compile(r"[\d:]")
# A question that asks for a name is answered only by a sentence that gives one.
ASKS_NAME_RE = re.compile(r"\bnamed?\b", re.I)
# After "how", the measure asked for ("How long will the strike last?"): the kind of answer,
# not a word the answer must contain.
HOW_RE = re.compile(r"\bhow\s+(?:long|big|large|far|soon|old|often|high|deep|wide|tall)\b", re.I)
SUFFIXES = ("ings", "ing", "ied", "ies", "est", "ed", "es", "ly", "s")
QUESTION_KINDS = (
    ("how many", "number"),
    ("how much", "number"),
    ("what percentage", "number"),
    ("what share", "number"),
    ("what proportion", "number"),
    ("when", "date"),
    ("what time", "date"),
    ("what day", "date"),
    ("what year", "date"),
    ("how long", "date"),
    ("who", "name"),
    ("whom", "name"),
    ("whose", "name"),
    ("where", "name"),
)


@dataclass(frozen=True)
class Cited:
    """One output sentence and the article sentence indexes that support it."""

    text: str
    citations: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Answer:
    sentences: list[Cited]
    found: bool


# --- shared text features ------------------------------------------------------------------


def stem(word: str) -> str:
    """A crude stem: endings go, then a prefix merges "evacuated" and "evacuation"."""
    word = word.lower()
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word.rstrip("e")[:6] if len(word) > 3 else word


def terms(text: str) -> list[str]:
    return [stem(w) for w in WORD_RE.findall(text) if w.lower() not in STOPWORDS]


@dataclass
class Doc:
    """The article split into sentences, with TF-IDF vectors and centrality ready."""

    text: str
    items: list[Sentence]
    bags: list[Counter]
    idf: dict[str, float]
    vectors: list[dict[str, float]]
    _rank: list[float] | None = None
    _forms: dict[str, set[str]] | None = None

    @property
    def rank(self) -> list[float]:
        if self._rank is None:
            self._rank = textrank(self.vectors, position_prior(len(self.items)))
        return self._rank

    @property
    def forms(self) -> dict[str, set[str]]:
        """The article's words, lower-cased, by the term (stem) they make."""
        if self._forms is None:
            self._forms = {}
            for word in {w.lower() for w in WORD_RE.findall(self.text)}:
                self._forms.setdefault(stem(word), set()).add(word)
        return self._forms


def prepare(text: str) -> Doc:
    text = text[:MAX_TEXT] if isinstance(text, str) else ""
    items = sentences(text)[:MAX_SENTENCES]
    bags = [Counter(terms(s.text)) for s in items]
    df = Counter(t for bag in bags for t in bag)
    n = len(items)
    idf = {t: math.log((n + 1) / (c + 0.5)) + 1.0 for t, c in df.items()}
    vectors = [_unit({t: (1 + math.log(c)) * idf[t] for t, c in bag.items()}) for bag in bags]
    return Doc(text, items, bags, idf, vectors)


def _unit(vector: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
    return {t: v / norm for t, v in vector.items()}


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())


def position_prior(n: int) -> list[float]:
    """News puts the essentials first: the lead weighs most, then weight fades slowly."""
    weights = [1.0 / math.sqrt(i + 1) for i in range(n)]
    total = sum(weights) or 1.0
    return [w / total for w in weights]


def textrank(vectors: list[dict[str, float]], prior: list[float], damping=0.85) -> list[float]:
    """PageRank over the sentence-similarity graph, teleporting by ``prior`` (the lead bias)."""
    n = len(vectors)
    edges = [[(j, cosine(vectors[i], vectors[j])) for j in range(n) if j != i] for i in range(n)]
    edges = [[(j, w) for j, w in row if w > 0] for row in edges]
    out = [sum(w for _, w in row) for row in edges]
    rank = list(prior)
    for _ in range(30):
        new = [(1 - damping) * p for p in prior]
        for i, row in enumerate(edges):
            share = damping * rank[i] / out[i] if out[i] else damping * rank[i] / max(n, 1)
            for j, w in row:
                new[j] += share * w
        rank = new
    return rank


# --- compression by deletion ---------------------------------------------------------------


def compress(text: str) -> str:
    """Drop an opening connective and short bracketed asides; only deletions, never new words."""
    short = ASIDE_RE.sub("", text)
    stripped = FILLER_RE.sub("", short, count=1)
    if stripped != short and stripped[:1].islower() and len(stripped.split()) >= 4:
        short = stripped[0].upper() + stripped[1:]
    return short if len(short.split()) >= 4 else text


def is_deletion_of(short: str, original: str) -> bool:
    """True when ``short``'s words appear in ``original``, in order, ignoring case."""
    source = iter(w.lower() for w in WORD_RE.findall(original))
    return all(any(w == s for s in source) for w in (x.lower() for x in WORD_RE.findall(short)))


# --- summary -------------------------------------------------------------------------------


def summarize(title: str, text: str, n: int = 3, *, shorten: bool = True) -> list[Cited]:
    """About ``n`` central, lead-biased, non-repeating sentences, in article order."""
    doc = prepare(text)
    picked = select(doc, _title_vector(title, doc), max(0, int(n)))
    return [_cite(doc, i, shorten) for i in sorted(picked)]


def _title_vector(title: str, doc: Doc) -> dict[str, float]:
    bag = Counter(terms(title if isinstance(title, str) else ""))
    return _unit({t: doc.idf.get(t, 1.0) for t in bag})


def summary_scores(doc: Doc, title_vector: dict[str, float]) -> list[float]:
    top = max(doc.rank, default=1.0) or 1.0
    return [
        doc.rank[i] / top
        + 0.3 * cosine(v, title_vector)
        + _length_fit(len(doc.bags[i]))
        - POINTER_PENALTY * bool(POINTER_RE.search(doc.items[i].text))
        for i, v in enumerate(doc.vectors)
    ]


def _length_fit(content_words: int) -> float:
    """Penalise fragments and run-ons: neither reads as a summary sentence."""
    if content_words < 4:
        return -1.0
    return 0.0 if content_words <= 30 else -0.3


def select(doc: Doc, title_vector: dict[str, float], n: int, exclude=frozenset()) -> list[int]:
    """Maximal marginal relevance: take the best sentence unlike those already taken."""
    scores = summary_scores(doc, title_vector)
    chosen: list[int] = []
    candidates = [
        i
        for i in range(len(scores))
        if i not in exclude and doc.bags[i] and not _heading(doc.items[i].text)
    ]
    while candidates and len(chosen) < n:
        best = max(candidates, key=lambda i: scores[i] - 0.7 * _overlap(doc, i, chosen))
        chosen.append(best)
        candidates.remove(best)
    return chosen


def _overlap(doc: Doc, i: int, chosen: list[int]) -> float:
    return max((cosine(doc.vectors[i], doc.vectors[j]) for j in chosen), default=0.0)


def _cite(doc: Doc, i: int, shorten: bool) -> Cited:
    text = doc.items[i].text
    return Cited(compress(text) if shorten else text, [i])


# --- key points ----------------------------------------------------------------------------


def key_points(title: str, text: str, n: int = 4) -> list[Cited]:
    """3 to 5 short, distinct facts: sentences dense in numbers, names and quotes."""
    n = min(5, max(3, int(n)))
    doc = prepare(text)
    title_vector = _title_vector(title, doc)
    summary = set(select(doc, title_vector, 3))
    picked = _pick_facts(doc, n, exclude=summary)
    if len(picked) < n:
        picked += _pick_facts(doc, n - len(picked), exclude=set(picked))
    return [_cite_quote(doc, i) for i in sorted(picked)]


def _cite_quote(doc: Doc, i: int) -> Cited:
    """One sentence, or the verbatim run of sentences that holds its whole quotation."""
    group = quote_group(doc, i)
    if len(group) == 1:
        return _cite(doc, i, True)
    first, last = doc.items[group[0]], doc.items[group[-1]]
    return Cited(doc.text[first.start : last.end], group)


def fact_score(doc: Doc, i: int) -> float:
    sentence = doc.items[i].text
    words = len(sentence.split())
    facts = (
        min(len(NUMBER_RE.findall(sentence)), 3)
        + min(len(NAME_RE.findall(sentence)), 3)
        + (1.5 if QUOTE_RE.search(sentence) else 0)
    )
    brevity = 1.0 if 8 <= words <= 28 else 0.3
    top = max(doc.rank, default=1.0) or 1.0
    # Half a quotation reads as a misquote; a fragment says nothing.
    broken = _quotes(doc, i) % 2 or words < 5
    pointer = POINTER_RE.search(sentence)
    return facts * brevity + 2 * doc.rank[i] / top - (5 if broken or pointer else 0)


def _pick_facts(doc: Doc, n: int, exclude: set[int]) -> list[int]:
    order = sorted(range(len(doc.items)), key=lambda i: -fact_score(doc, i))
    chosen: list[int] = []
    for i in order:
        if len(chosen) == n:
            break
        if i in exclude or not doc.bags[i] or _heading(doc.items[i].text):
            continue
        if _overlap(doc, i, chosen) < 0.5:
            chosen.append(i)
    return chosen


# --- answers -------------------------------------------------------------------------------

# A sentence answers when it holds this weighted share of the question's terms (``coverage``).
# On the questions of `python bench/answers.py`, written for the sample publisher, the answers
# found reach 0.60 or more and the unanswerable questions 0.50 at most, but for two that ask
# for a name the article never gives (see ASKS_NAME_RE) and one whose missing word begins
# another ("ransom", "ransomware"). Everyday words the article never uses count for little
# (see ``query_weights``): rarer than COMMON_ZIPF in general English they count for more, and
# in full from SPECIFIC_ZIPF (wordfreq's Zipf scale: "last" and "still" are about 6,
# "repairs" about 4).
ANSWER_THRESHOLD = 0.55
COMMON_ZIPF = 6.0
SPECIFIC_ZIPF = 4.0
MIN_SHARE = 0.25


def answer(question: str, title: str, text: str, *, limit: int = 2) -> Answer:
    """The sentences that answer ``question``, or ``found=False`` when the evidence is weak."""
    doc = prepare(text)
    words = question_words(question if isinstance(question, str) else "")
    if not words or not doc.items:
        return _not_found()
    kind = question_kind(question)
    lines = [i for i in range(len(doc.items)) if not _heading(doc.items[i].text)]
    if not lines:
        return _not_found()
    words = [_apart(doc, word) for word in words]
    others = synonyms(doc, words)
    query: dict[str, float] = {}
    for word in words:
        term, share = others.get(stem(word), (stem(word), 1.0))
        query[term] = max(query.get(term, 0.0), share)
    scored = sorted(((evidence(doc, i, query, kind), i) for i in lines), reverse=True)
    best, top = scored[0]
    if coverage(doc, top, query_weights(doc, words, others)) < ANSWER_THRESHOLD:
        return _not_found()
    if ASKS_NAME_RE.search(question) and not _names_beyond(doc.items[top].text, question):
        return _not_found()  # "What is the name of the mayor?" and the mayor is never named
    keep = {j for s, i in scored[:limit] if s >= 0.8 * best for j in quote_group(doc, i)}
    return Answer([_cite(doc, i, False) for i in sorted(keep)], True)


def _heading(text: str) -> bool:
    """A crosshead ("What owners must do"): a short line with no closing punctuation, and no
    figure or colon (a list line, "Core inflation: 2.8 per cent", states a fact). It names a
    part of the article and answers nothing."""
    return (
        len(text.split()) <= HEADING_WORDS
        and not HEADING_END_RE.search(text)
        and not LIST_FACT_RE.search(text)
    )


def question_words(question: str) -> list[str]:
    """The words of what a question asks about (see QUESTION_WORDS and HOW_RE)."""
    words = WORD_RE.findall(HOW_RE.sub("how", question))
    return [w for w in words if w.lower() not in STOPWORDS and w.lower() not in QUESTION_WORDS]


def _apart(doc: Doc, word: str) -> str:
    """``word``, or a form of it that matches no term, when the article's only words with its
    stem add another word to it: "ransomware" is no "ransom", nor "schoolchildren" a
    "school"."""
    lower = word.lower()
    term = stem(lower)
    forms = doc.forms.get(term, ()) if term in doc.idf else ()
    if forms and all(_compound(form, lower) for form in forms):
        return APART + lower
    return word


def _compound(form: str, word: str) -> bool:
    rest = form[len(word) :]
    return (
        form.startswith(word)
        and len(rest) >= 3
        and rest not in SUFFIX_WORDS
        and zipf_frequency(rest, "en", wordlist="small") >= 3.0
    )


def synonyms(doc: Doc, words: list[str]) -> dict[str, tuple[str, float]]:
    """For each question term the article never uses, the article's word nearest in meaning
    ("homes" for "houses", "closed" for "shut", "repair" for "fix") with its cosine, where that
    is at least SYNONYM_MIN; by the static word vectors that ship inside wordllama's wheel."""
    missing = {
        stem(w): w.lower()
        for w in words
        if stem(w) not in doc.idf
        and not w.startswith(APART)
        and zipf_frequency(w.lower(), "en", wordlist="small") < SYNONYM_MAX_ZIPF
    }
    if not missing:
        return {}
    vocabulary = sorted(
        word
        for term, words in doc.forms.items()
        if term in doc.idf
        for word in words
        if not word.isdigit() and word not in STOPWORDS
    )
    if not vocabulary:
        return {}
    try:
        asked, found = word_vectors(list(missing.values())), word_vectors(vocabulary)
    except Exception:  # a broken install of the vectors costs the synonyms, not the answer
        log.exception("word vectors unavailable; answering by the article's own words")
        return {}
    similarity = asked @ found.T
    result: dict[str, tuple[str, float]] = {}
    for row, term in enumerate(missing):
        best = int(similarity[row].argmax())
        if similarity[row, best] >= SYNONYM_MIN:
            result[term] = (stem(vocabulary[best]), float(similarity[row, best]))
    return result


def word_vectors(words: list[str]):
    """One unit vector a word; imported here so that the model loads only when needed."""
    from broadsheet.enrichment.embeddings import get_embedder

    return get_embedder("wordllama-256").embed(words)


def query_weights(
    doc: Doc, words: list[str], others: dict[str, tuple[str, float]] | None = None
) -> dict[str, float]:
    """How much each question term counts towards ``coverage``: a term of the article by its
    IDF there; one that stands for an article word (``others``, from ``synonyms``) by that
    word's IDF times their similarity; any other by how rare it is in general English. A question
    that names something the article leaves out ("tariffs", "ransom") asks what it does not
    say, while an everyday word it puts differently ("How long will the strike last?", "Was
    the school shut?") is weak evidence of that."""
    rare = max(doc.idf.values(), default=1.0)
    weights: dict[str, float] = {}
    for word in words:
        term = stem(word)
        if others and term in others:
            other, share = others[term]
            weights[other] = max(weights.get(other, 0.0), doc.idf[other] * share)
        elif term in doc.idf:
            weights[term] = doc.idf[term]
        else:
            zipf = zipf_frequency(word.lower().lstrip(APART), "en", wordlist="small")
            share = (COMMON_ZIPF - zipf) / (COMMON_ZIPF - SPECIFIC_ZIPF)
            weights[term] = max(weights.get(term, 0.0), rare * min(1.0, max(MIN_SHARE, share)))
    return weights


def _names_beyond(sentence: str, question: str) -> set[str]:
    """Capitalised words inside ``sentence`` (not the first) that ``question`` lacks."""
    asked = {w.lower() for w in WORD_RE.findall(question)}
    found = NAME_RE.findall(sentence.lstrip("\"'\u201c\u2018 "))
    return {name for name in found if name.lower() not in asked}


def quote_group(doc: Doc, i: int) -> list[int]:
    """Sentence ``i`` with the neighbours that complete a quotation it opens or closes."""
    step = 1 if QUOTE_RE.match(doc.items[i].text) else -1
    group, open_quotes = [i], _quotes(doc, i) % 2
    j = i + step
    while open_quotes and 0 <= j < len(doc.items) and len(group) < 4:
        if doc.items[j].paragraph != doc.items[i].paragraph:
            break
        group.append(j)
        open_quotes = (open_quotes + _quotes(doc, j)) % 2
        j += step
    return sorted(group)


def _quotes(doc: Doc, i: int) -> int:
    return len(QUOTE_RE.findall(doc.items[i].text))


def _not_found() -> Answer:
    return Answer([Cited(NOT_FOUND, [])], False)


def question_kind(question: str) -> str | None:
    lowered = question.lower() if isinstance(question, str) else ""
    return next((kind for cue, kind in QUESTION_KINDS if cue in lowered), None)


def coverage(doc: Doc, i: int, weights: dict[str, float]) -> float:
    """The weighted share (see ``query_weights``) of the question's terms in sentence ``i``."""
    found = sum(w for t, w in weights.items() if t in doc.bags[i])
    return found / (sum(weights.values()) or 1.0)


def evidence(doc: Doc, i: int, query: dict[str, float], kind: str | None) -> float:
    """BM25-style term match (a term by its share: 1, or a synonym's similarity), plus a bonus
    when the sentence holds the kind of thing asked."""
    bag, length = doc.bags[i], sum(doc.bags[i].values()) or 1
    average = sum(sum(b.values()) for b in doc.bags) / len(doc.bags) or 1
    score = 0.0
    for t in query.keys() & bag.keys():
        tf = bag[t]
        score += query[t] * doc.idf[t] * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / average))
    return score * (1.0 + 0.3 * _holds(doc.items[i].text, kind))


def _holds(sentence: str, kind: str | None) -> bool:
    if kind == "number":
        return bool(NUMBER_RE.search(sentence)) or bool(
            re.search(r"\b(?:hundred|thousand|dozen|million|billion)\b", sentence, re.I)
        )
    if kind == "date":
        return bool(DATE_RE.search(sentence))
    if kind == "name":
        return bool(NAME_RE.search(sentence))
    return False
