"""Broadsheet's bundled sample publisher: fictional news outlets served on 127.0.0.1.

The corpus (the Republic of Vellmark, its nine outlets and their articles) is fictional, was
written for Broadsheet, and is licensed with the project. No real event, person or organisation
is described. ``broadsheet demo``, the test suite and the benchmarks all read from it.
"""

from broadsheet.samplepub.corpus import Corpus, CorpusArticle, Outlet, check_corpus, load_corpus
from broadsheet.samplepub.server import FeedInfo, SamplePublisher

__all__ = [
    "Corpus",
    "CorpusArticle",
    "FeedInfo",
    "Outlet",
    "SamplePublisher",
    "check_corpus",
    "load_corpus",
]
