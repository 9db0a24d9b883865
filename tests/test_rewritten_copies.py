"""Rewritten copies: a wire story restyled, cut or written through by another outlet shares too
few exact 4-word runs for its signature, but nearly every sentence of it is one of the wire's.
Sentence alignment between an article and its nearest articles finds it; a report written
separately that quotes the same statement is left alone."""

import hashlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from broadsheet.enrichment import copies
from broadsheet.enrichment.stage import enrich_articles
from tests.datasets import dataset

WIRE = "\n".join(
    [
        "The regional water board approved a plan on Monday to rebuild the Harlow dam "
        "spillway after engineers found deep cracks in its concrete during a routine "
        "inspection in the spring.",
        "The work will cost about 48 million euros and is expected to take three years, with "
        "the reservoir kept at two thirds of its usual level while the crews are on site.",
        "Board chair Elin Marsh said the dam was safe but that the cracks would only widen "
        "with each winter of frost and heavy rain.",
        '"We are acting now so that nobody downstream ever has to wonder whether the dam will'
        ' hold," Marsh said.',
        "Farmers who draw water from the reservoir will receive a reduced allocation during "
        "the dry months, and the board promised compensation for lost harvests.",
        "The spillway was last repaired in 1987, when a smaller crack was sealed with resin "
        "rather than replaced.",
        "Residents of the three villages below the dam will be invited to an information "
        "evening at the Harlow community hall next week.",
    ]
)

# The same text restyled by another outlet: a new lead with a dateline, "says" for "said",
# words swapped in every sentence, the last sentence dropped.
REWRITE = "\n".join(
    [
        "HARLOW - Engineers will rebuild the spillway of the Harlow dam.",
        "The regional water board has approved a plan to rebuild the Harlow dam spillway "
        "after engineers found deep cracks in the concrete during a routine spring "
        "inspection.",
        "The works will cost some 48 million euros and should take three years, with the "
        "reservoir held at two thirds of its normal level while crews are on the site.",
        "Board chairwoman Elin Marsh says the dam is safe but that the cracks would only "
        "widen with every winter of frost and heavy rain.",
        '"We are acting now so that nobody downstream ever has to wonder whether the dam will'
        ' hold," Marsh says.',
        "Farmers who take water from the reservoir will get a smaller allocation in the dry "
        "months, and the board has promised compensation for lost harvests.",
        "The spillway was last repaired in 1987, when a smaller crack was sealed with resin "
        "instead of being replaced.",
    ]
)

# Written separately about the same decision: its own narration, the same quote.
SEPARATE = "\n".join(
    [
        "Villagers below the Harlow dam say they learned of the cracks in its spillway from a"
        " neighbour, not from the water board.",
        "At a packed meeting in the community hall on Monday evening, several residents asked"
        " why the inspection results had taken months to reach them.",
        '"We are acting now so that nobody downstream ever has to wonder whether the dam will'
        ' hold," board chair Elin Marsh told them, repeating the statement issued earlier '
        "that day.",
        "Many in the hall were unconvinced, and a petition calling for an independent survey "
        "of the dam had gathered more than 300 names by the end of the night.",
        "One farmer said a smaller water allocation during the summer could cost him half of "
        "his potato crop.",
        "The board has said it will publish the full inspection report on its website before "
        "the end of the month.",
    ]
)


# A later story of its own about the work on the dam, nine sentences long.
LATER_STORY = [
    "Work on the Harlow dam spillway began a day early on Tuesday, as the first crews and "
    "two cranes arrived at the reservoir soon after dawn.",
    "The contractor said the old concrete would be cut away in sections over the winter, "
    "so that the reservoir can stay open to anglers and walkers throughout.",
    "Road closures on the dam crest are expected until March, and the bus to the visitor "
    "centre will turn at the lower car park instead.",
    "Engineers will check the downstream face every week while the work goes on, and "
    "publish the readings of the new strain gauges on the board's website.",
    "A second public meeting is planned for the new year, once the first sections of the "
    "new spillway have been poured and the schedule for the summer is clear.",
    "The board also said it would review how quickly it tells residents about inspection "
    "findings, after complaints that news of the cracks reached villages late.",
    "Local councillors welcomed the early start but asked for a named contact at the board "
    "for residents who are worried about noise from the site at night.",
    "Anglers' clubs said they had been told the lower car park would stay open, and that "
    "the fishing season on the reservoir would not be cut short this year.",
    "The board expects to reopen the crest road to cars in the spring, once the new "
    "spillway channel has been tested with a controlled release of water.",
]


def test_a_restyled_copy_is_aligned_though_its_signature_misses_it():
    assert not copies.is_copy(WIRE, REWRITE)  # too few exact 4-word runs left
    assert copies.aligned_share(WIRE, REWRITE) >= copies.ALIGNED
    assert copies.is_rewritten_copy(REWRITE, WIRE)


def test_a_separate_report_quoting_the_same_statement_is_not_a_copy():
    assert copies.aligned_share(WIRE, SEPARATE) < 0.5
    assert copies.verbatim_share(WIRE, SEPARATE) < copies.VERBATIM
    assert not copies.is_rewritten_copy(SEPARATE, REWRITE)


def test_a_write_through_keeping_the_wire_word_for_word_is_a_copy():
    """The wire's opening paragraphs verbatim, then lines of its own: too few sentences
    aligned to pass ALIGNED, but most of its word runs are the wire's, at the wire's top."""
    lines = WIRE.splitlines()
    written_through = "\n".join(
        [
            *lines[:5],
            "Anglers' clubs asked the board on Tuesday to keep the lower car park open while the "
            "work goes on, and to publish the schedule of road closures on the dam crest.",
            "The board said a contractor would be chosen by tender before the end of the year.",
        ]
    )
    assert copies.aligned_share(written_through, WIRE) < copies.ALIGNED
    assert copies.verbatim_share(written_through, WIRE) >= copies.VERBATIM
    assert copies.is_rewritten_copy(written_through, WIRE)
    # The same paragraphs pasted below a story of its own are an appendix, not a copy.
    appendix = "\n".join([*LATER_STORY, "The first report follows.", *lines[:5]])
    assert copies.verbatim_share(appendix, WIRE) >= copies.VERBATIM
    assert not copies.is_rewritten_copy(appendix, WIRE)


def test_a_later_story_ending_with_the_first_report_is_not_a_copy_of_it():
    later = "\n".join([*LATER_STORY, "The first report on the decision follows below.", WIRE])
    assert copies.aligned_share(WIRE, later) == 1.0  # all of it is there...
    assert not copies.is_rewritten_copy(WIRE, later)  # ...but as an appendix


def test_a_teaser_is_a_copy_only_when_nearly_word_for_word():
    lead = WIRE.splitlines()[0]
    assert copies.MIN_TEASER_WORDS <= len(lead.split()) < copies.MIN_ALIGNED_WORDS
    assert copies.aligned_share(lead, WIRE) == 0.0  # too short to weigh by share
    assert copies.is_rewritten_copy(lead, WIRE)
    # Every sentence must be the other's: a line of its own makes it something else.
    assert not copies.is_rewritten_copy("Harlow dam spillway to be rebuilt.\n" + lead, WIRE)
    assert copies.is_rewritten_copy(REWRITE.splitlines()[1], WIRE)  # lightly edited lead
    reworded = (
        "Cracks found in the concrete of the Harlow dam's spillway this spring mean the water "
        "board will now rebuild it, the board decided on Monday."
    )
    assert not copies.is_rewritten_copy(reworded, WIRE)
    assert not copies.is_rewritten_copy("The regional water board met on Monday.", WIRE)
    assert not copies.is_rewritten_copy("", WIRE)


def ecbplus(doc_id: str) -> str:
    for line in (dataset("stories-ecbplus-dev") / "docs.jsonl").read_text().splitlines():
        doc = json.loads(line)
        if doc["doc_id"] == doc_id:
            first, _, rest = doc["text"].partition("\n")
            return rest if first.startswith("http") else doc["text"]
    raise KeyError(doc_id)


@pytest.mark.parametrize(
    ("a", "b", "copy"),
    [
        ("7_9ecbplus", "7_3ecbplus", True),  # the short agency report opens the long one
        ("7_10ecbplus", "7_2ecbplus", True),  # two write-throughs of one fight report
        ("24_5ecbplus", "24_1ecbplus", True),  # an agency story with a lead added
        ("19_6ecbplus", "19_11ecbplus", True),  # a blog reposts a trimmed, edited text
        ("7_4ecbplus", "7_3ecbplus", True),  # three sentences of the long one's lead
        ("21_8ecbplus", "21_9ecbplus", True),  # a teaser: headline and first sentence
        ("3_3ecbplus", "3_2ecbplus", False),  # both paste the same prison-record lines
        ("2_1ecbplus", "2_7ecbplus", False),  # an own report appending part of a release
        ("12_5ecbplus", "12_6ecbplus", False),  # a paraphrase of the release
        ("23_1ecbplus", "23_2ecbplus", False),  # a later story ending with the first report
    ],
)
def test_read_ecbplus_pairs(a, b, copy):
    assert copies.is_rewritten_copy(ecbplus(a), ecbplus(b)) is copy


def due(outlet: str, title: str, text: str, published):
    from broadsheet.articles.models import Article
    from broadsheet.sources.models import Source

    source, _ = Source.objects.get_or_create(
        slug=outlet, defaults={"name": outlet, "homepage": f"https://{outlet}.test/"}
    )
    url = f"https://{outlet}.test/{title}"
    return Article.objects.create(
        source=source,
        url=url,
        url_key=hashlib.sha256(url.encode()).hexdigest(),
        title=title,
        text=text,
        published_at=published,
        discovered_at=published,
        state=Article.State.DONE,
        enrich_due_at=timezone.now(),
    )


def test_ecbplus_copy_detection_holds_its_floors():
    """Both rules over every ECB+ pair, scored against the labels read from the texts (pairs
    not listed are not copies). Measured: 56 of 69 copies, no false link. Floors only go
    up."""
    from broadsheet.enrichment.embeddings import get_embedder
    from tests.test_copies import ecbplus_texts, read_copy_labels

    texts, labels = ecbplus_texts(), read_copy_labels()
    ids = list(texts)
    bodies = [texts[doc_id] for doc_id in ids]
    sigs = [copies.signature(body) for body in bodies]
    found = {
        frozenset((ids[i], ids[i + 1 + j]))
        for i in range(len(ids))
        for j in copies.matching(sigs[i], sigs[i + 1 :])
    }
    aligned = copies.rewritten_pairs(bodies, get_embedder().embed(bodies))
    found |= {frozenset((ids[a], ids[b])) for a, b in aligned}
    copies_read = {pair for pair, copy in labels.items() if copy}
    right = len(found & copies_read)
    assert right / len(found) >= 0.99
    assert right / len(copies_read) >= 0.81


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_indexes")
@pytest.mark.parametrize("batched", [True, False])
def test_enrichment_links_a_rewritten_copy_to_the_wire_story(batched):
    start = timezone.now() - timedelta(hours=5)
    rewrite = due("paper", "spillway", REWRITE, start + timedelta(hours=2))
    separate = due("gazette", "villagers", SEPARATE, start + timedelta(hours=3))
    wire = due("wire", "harlow-dam", WIRE, start)
    ids = [rewrite.pk, separate.pk, wire.pk]
    if batched:
        assert enrich_articles(ids) == 3
    else:  # one batch each: the copy is found from either side
        for pk in ids:
            assert enrich_articles([pk]) == 1
    for article in (rewrite, separate, wire):
        article.refresh_from_db()
    assert rewrite.duplicate_of_id == wire.pk
    assert separate.duplicate_of_id is None
    assert wire.duplicate_of_id is None
