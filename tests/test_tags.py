import importlib.util
import re
import time

import pytest

from broadsheet.enrichment import tags as tagger
from broadsheet.enrichment.tags import MAX_CHARS, STOP_WORDS, extract_tags, singular
from broadsheet.samplepub.corpus import load_corpus
from tests.datasets import ROOT, dataset

CORPUS = load_corpus()
ORIGINALS = [a for a in CORPUS.articles if not a.synthetic]

# A wire story in the sample publishers' manner, with people in it (the corpus names none).
TRAM_TITLE = "Aldport opens airport tram line, eight months late"
TRAM_TEXT = """\
ALDPORT, Vellmark — Transport Minister Ivo Brandt on Tuesday opened the tram line to Aldport \
airport, eight months late and over budget. Brandt said the line would carry 20,000 \
passengers a day once the timetable settles.
"It was worth the wait," Brandt told reporters at the airport terminal. Mara Oduya, who \
chairs the Aldport Transit Authority, said the authority had learned from the delays. Oduya \
added that trams would run every six minutes at peak times.
Passengers complained about the delays for months, and Ivo was booed at the opening. The \
line cost 340 million crowns; the authority will publish the final bill in March. Prime \
Minister Lena Hart did not attend. Oduya will resign if the trams fail their first winter.
The tram line links the airport with the city centre in 19 minutes. Critics said the \
project ran sharply over budget and that the lowest tender was ignored. The authority's main \
contractor premiered a new tram design at the opening, and Oduya said the tram fleet would \
double by 2030. Brandt rode the first tram with Oduya and a crowd of passengers.
"""


def tags_of(article):
    return extract_tags(article.title, article.text())


def by_event(event):
    return [a for a in ORIGINALS if a.event == event]


def test_crane_collapse_is_tagged_with_the_port_and_the_crane():
    tagged = [{t.name for t in tags_of(a)} for a in by_event("crane-collapse")]
    with_place = [n for n in tagged if any(x.startswith("Aldport") for x in n)]
    assert len(with_place) >= 0.75 * len(tagged), tagged
    for names in tagged:
        assert names & {"Crane", "Port", "Container", "Terminal"}, names


def test_rate_rise_names_the_bank_once():
    tagged = [[t.name for t in tags_of(a)] for a in by_event("rate-rise")]
    assert sum("Vellmark Central Bank" in names for names in tagged) >= len(tagged) / 2
    for names in tagged:
        if "Vellmark Central Bank" in names:
            assert "Central Bank" not in names and "Bank" not in names, names


@pytest.mark.parametrize("article", ORIGINALS, ids=lambda a: a.key)
def test_tags_read_like_a_news_site(article):
    tags = tags_of(article)
    assert 3 <= len(tags) <= 8
    assert [t.score for t in tags] == sorted((t.score for t in tags), reverse=True)
    assert len({t.slug for t in tags}) == len(tags)
    assert len({t.name.lower() for t in tags}) == len(tags)
    for tag in tags:
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", tag.slug), tag
        assert tag.kind in {"person", "place", "organisation", "topic"}
        assert tag.name.lower() not in STOP_WORDS, tag
        # No figure, except the number of a numbered thing ("Line 4")
        assert not re.search(r"\d", tag.name) or re.fullmatch(r"[A-Z]\w+ \d{1,3}", tag.name), tag
        assert tag.name[0].isupper(), tag
        # No SHOUTED headline ("MIRACLE AT THE DOCKS") turned into a tag.
        assert not (len(tag.name) > 4 and tag.name.isupper()), tag


@pytest.mark.parametrize("article", ORIGINALS, ids=lambda a: a.key)
def test_a_long_article_is_tagged_with_what_it_keeps_coming_back_to(article):
    """A long article's tags are in its headline or mentioned at least twice (an organisation
    also as "the bank", "the authority", or by its first word, "Halvard" for "Halvard
    Energy"); others only fill up to three tags."""
    if len(article.text().split()) < 150:
        pytest.skip("short article")
    text = f"{article.title}\n{article.text()}".lower()
    salient = []
    for tag in tags_of(article):
        words = tag.name.lower().split()
        numbered = words[-1].isdigit()  # "Line 4" is also "the line"
        said = words[-1:] + (words[:1] if tag.kind == "organisation" or numbered else [])
        stems = [re.escape(word[: max(4, len(word) - 2)]) for word in said]
        uses = max(len(re.findall(rf"\b{stem}", text)) for stem in stems)
        salient.append(uses >= 2 or tag.name.lower() in article.title.lower())
    assert all(salient) or sum(salient) < 3, list(zip(tags_of(article), salient, strict=True))


def test_shouted_headlines_are_read_by_the_body():
    (miracle,) = [a for a in ORIGINALS if a.title.startswith("MIRACLE AT THE DOCKS")]
    names = [t.name for t in tags_of(miracle)]
    assert "Crane" in names, names
    assert not any(" " in n and n.title() == n and "Dock" in n for n in names), names


def test_people_are_tagged_once_by_the_surname_the_story_uses():
    tags = extract_tags(TRAM_TITLE, TRAM_TEXT)
    names = [t.name for t in tags]
    kinds = {t.name: t.kind for t in tags}
    assert "Brandt" in names and kinds["Brandt"] == "person", tags
    assert "Oduya" in names and kinds["Oduya"] == "person", tags
    # Neither the full name nor the first name alone is a second tag, and titles are dropped.
    for other in ("Ivo Brandt", "Ivo", "Mara Oduya", "Mara", "Transport", "Minister"):
        assert other not in names, tags
    assert "Aldport" in names and "Aldport Transit Authority" in names, tags
    assert kinds["Aldport Transit Authority"] == "organisation"


def test_a_name_never_shortened_keeps_all_its_words():
    text = (
        "MARROW FALLS, Vellmark — Floodwater reached the centre of Marrow Falls on Sunday. "
        "Residents of Marrow Falls were moved to the school hall.\n"
        "The river rose two metres overnight, and the water stood a metre deep in Marrow Falls "
        "by noon. The river is expected to fall by Tuesday."
    )
    names = [t.name for t in extract_tags("Marrow Falls under water", text)]
    assert "Marrow Falls" in names and "Falls" not in names and "MARROW FALLS" not in names


def test_a_possessive_ends_a_name_and_its_start_counts_for_the_whole():
    text = (
        "Kessel General Hospital cancelled 1,300 appointments after a cyberattack. "
        "Kessel General's booking system has been offline since Monday, and Aldport's "
        "hospitals took the emergencies. Kessel General Hospital said the attack was contained."
    )
    names = [t.name for t in extract_tags("Hospital hit by cyberattack", text)]
    assert "Kessel General Hospital" in names and "Kessel General" not in names, names
    assert "Aldport" in names and "Aldport's" not in names, names


def test_topics_are_nouns_not_verbs_or_modifiers():
    names = {t.name for t in extract_tags(TRAM_TITLE, TRAM_TEXT, limit=30)}
    assert {"Tram", "Passenger", "Airport"} <= names, names
    # "will resign", "sharply", "the lowest tender", "its main contractor", "premiered"
    assert not names & {"Resign", "Sharply", "Lowest", "Main", "Premiered", "Across"}, names


def test_a_verb_after_a_capitalised_to_is_still_a_verb():
    text = (
        "The coach said his players had given everything in the final. \u201cTo lose a final is "
        "hard. To lose one like that is cruel,\u201d he said. The players thanked the fans."
    )
    names = {t.name for t in extract_tags("Rovers beaten in the cup final", text, limit=20)}
    assert "Player" in names and "Lose" not in names, names


def test_verbs_after_a_capitalised_pronoun_or_a_contraction_are_verbs():
    text = (
        "Members of the chamber met the data authority this week. \u201cOur members don\u2019t "
        "object to rules on customer data,\u201d the chamber said. They object to guessing what "
        "the rules mean. Do not charge the members for advice, the chamber asked; members "
        "could not charge customers either."
    )
    names = {t.name for t in extract_tags("Chamber asks for clear data rules", text, limit=20)}
    assert "Member" in names and "Object" not in names and "Charge" not in names, names


def test_words_english_never_uses_as_nouns_are_no_topics():
    text = (
        "Delivery firms say they expect the parcels to keep coming. Maybe the firms will "
        "deliver the parcels on time; instead, couriers seem to expect delays. Firms expect a "
        "busy winter. Couriers say the parcels were heavier, and maybe couriers will deliver "
        "them instead of vans."
    )
    names = {t.name for t in extract_tags("Couriers expect a busy winter", text, limit=30)}
    assert {"Courier", "Parcel"} <= names, names
    assert not names & {"Expect", "Maybe", "Instead", "Seem", "Deliver"}, names
    # An adverb opening sentences is no name either.
    text = (
        "Instead, the firm cut prices. Instead, rivals raised theirs. Prices fell by half. "
        "Additionally, shops cut prices. Additionally, rivals followed."
    )
    names = {t.name for t in extract_tags("Price war", text, limit=30)}
    assert "Price" in names and not names & {"Instead", "Additionally"}, names


def test_a_plural_before_a_word_starting_with_a_is_no_verb():
    # "Some prices are" once read as a present-tense verb ("Google faces a"), which hid the
    # story's main topic.
    text = (
        "Food prices fell in October. Some prices are still rising, the statistics office "
        "said, but fuel prices were lower. Economists expect prices to settle."
    )
    names = {t.name for t in extract_tags("Inflation eases as food prices fall", text)}
    assert "Price" in names, names


def test_a_numbered_name_is_one_tag():
    text = (
        "Line 4 opened to passengers on Sunday. The line runs from the city centre to the "
        "airport, and trams on Line 4 will run every six minutes. The transit authority said "
        "the line carried 9,000 passengers on its first day. Terminal 2 at the airport gets "
        "a new stop; passengers for Terminal 2 change at the airport station."
    )
    tags = extract_tags("First trams roll to the airport as Line 4 opens", text)
    names = [t.name for t in tags]
    assert "Line 4" in names and "Line" not in names, names
    assert {t.slug for t in tags} >= {"line-4"}


@pytest.mark.parametrize(
    "text",
    [
        "Rovers 2 United 1: United beat Rovers. Rovers were unlucky; Rovers lost again.",
        "Roughly 200 people came. Roughly 200 more waited outside, roughly as many as before.",
        "The S&P 500 rose. Shares in the S&P 500 index climbed for the S&P 500 funds.",
        "Sales fell in May 5 stores and rose in others; sales will rise by June 12 or so.",
    ],
)
def test_scores_figures_and_dates_are_no_numbered_names(text):
    names = [t.name for t in extract_tags("Results", text, limit=20)]
    assert not any(name.split()[-1].isdigit() for name in names), names


def test_a_company_called_by_its_first_word_is_one_tag():
    text = (
        "Halvard Energy switched on the first turbines of its offshore wind farm on Monday. "
        "Halvard said the farm would supply power to 200,000 homes by next winter. Halvard "
        "expects the remaining turbines to be connected in the spring, and Halvard's engineers "
        "will inspect the cables before then.\n\nThe turbines stand 30 kilometres off the coast."
    )
    names = [t.name for t in extract_tags("Halvard switches on offshore wind farm", text)]
    assert "Halvard Energy" in names and "Halvard" not in names, names
    legal = "Google Inc reported higher profits. Google said advertising grew. Google hired more."
    names = [t.name for t in extract_tags("Google profits rise", legal)]
    assert "Google" in names and "Google Inc" not in names, names


def test_a_place_that_names_a_university_stays_a_place():
    text = (
        "Students at Damascus University marched through the city on Sunday. In Damascus, "
        "police closed the main roads. Damascus University said lectures would resume. "
        "Protests in Damascus continued into the evening."
    )
    names = [t.name for t in extract_tags("Students march in Damascus", text)]
    assert "Damascus" in names and "Damascus University" in names, names


def test_short_past_tenses_are_not_topics():
    text = (
        "Rescuers waded through the flood to reach the farm. The crews waded back at dusk.\n\n"
        "A shred of the old fence was all that stood; the last shred of it went by noon."
    )
    names = {t.name for t in extract_tags("Flood rescue", text, limit=20)}
    assert "Waded" not in names, names
    assert "Shred" in names, names


def test_units_after_figures_and_times_of_day_are_not_topics():
    text = (
        "The fire burned 3,400 hectares of heath this morning; another 200 hectares were saved. "
        "The recall will cost Orrin 180 million crowns, and 90 million crowns more next year.\n"
        "Crews worked from 5 a.m. until the evening. The wildfire crews and the heath recovered."
    )
    names = {t.name for t in extract_tags("Heath fire contained", text, limit=30)}
    assert "Heath" in names and "Crew" in names, names
    assert not names & {"Hectare", "Crown", "Morning", "Evening", "A.m."}, names


def test_a_currency_that_is_the_story_is_a_topic():
    text = (
        "The crown slipped against the euro on Monday. Traders sold the crown after the "
        "inflation figures, and the crown has lost 2% this month."
    )
    names = [t.name for t in extract_tags("Crown slips", text)]
    assert "Crown" in names, names


def test_one_spelling_per_thing_across_plurals():
    tags = extract_tags(
        "Teachers strike over pay",
        "Teachers walked out on Monday. One teacher said the strike would last.\n\n"
        "The teachers' strike closed schools; each school sent pupils home.",
    )
    names = [t.name for t in tags]
    assert "Teacher" in names and "Teachers" not in names
    assert "School" in names and "Schools" not in names


def test_a_plural_opening_a_sentence_is_the_same_topic():
    text = (
        "Landlords say the cap is too tight. A landlord in the Mill Quarter said rents had not "
        "kept up with repairs.\nLandlords must register every tenancy by March, and each "
        "landlord who does not faces a fine. Businesses renting offices are exempt."
    )
    names = [t.name for t in extract_tags("Rent cap for landlords", text)]
    assert "Landlord" in names and "Landlords" not in names, names


def test_singular():
    assert singular("cities") == "city"
    assert singular("crashes") == "crash"
    assert singular("cranes") == "crane"
    assert singular("news") == "news"
    assert singular("bus") == "bus"
    assert singular("businesses") == "business"
    assert singular("gunmen") == "gunman"
    assert singular("housebuilders") == "housebuilder"  # too rare for the word list
    assert singular("menus") == "menu"
    for word in ("virus", "campus", "status", "bonus"):
        assert singular(word) == word


def test_a_word_near_the_top_ranks_above_the_same_word_near_the_end():
    """Readers, and the crowds the ranking was fitted on, weigh a story's start most: of two
    equally rare nouns, each said twice, the one in the first lines ranks higher."""
    filler = "Officials spoke for an hour about the weather. " * 60
    orchard = "The orchard was under water. Pickers walked through the orchard."
    glacier = "The glacier was under water. Climbers walked across the glacier."
    for top, end in ((orchard, glacier), (glacier, orchard)):
        tags = {t.name: t.score for t in extract_tags("A wet spring", f"{top}\n{filler}\n{end}")}
        first, last = top.split()[1].title(), end.split()[1].title()
        assert tags[first] > tags[last], tags


def test_early_mentions_are_counted_through_merged_names():
    text = "Mara Oduya opened the line. " + "The trams ran late again. " * 30 + "Oduya said so."
    article = tagger._read("en", "", text)
    (oduya,) = [c for c in article.candidates if c.key == ("mara", "oduya")]
    assert oduya.count == 2 and oduya.early == 1


@pytest.mark.parametrize(
    ("language", "title", "text", "name"),
    [
        (
            "de",
            "Regierung beschließt Mietbremse",
            "Die Bundesregierung in Berlin hat am Mittwoch neue Regeln für den Wohnungsmarkt "
            "beschlossen. Bundeskanzler Olaf Scholz sagte, die Mieten in München und Hamburg "
            "seien zu hoch. Der Mieterbund begrüßte die Regeln. Scholz will die Regeln im "
            "Bundestag verteidigen.",
            "Scholz",
        ),
        (
            "fr",
            "Macron annonce la réforme des retraites",
            "Le président Emmanuel Macron a annoncé mercredi à Paris une réforme des retraites. "
            "La réforme prévoit un âge de départ à 64 ans. Les syndicats appellent à la grève "
            "dans toute la France. Selon Macron, la réforme est nécessaire.",
            "Macron",
        ),
        (
            "ru",
            "Собянин открыл новую станцию метро",
            "Мэр Москвы Сергей Собянин открыл в среду новую станцию метро. Собянин сказал, что "
            "станция примет сорок тысяч пассажиров в день. Новая станция соединит Москву с "
            "Подмосковьем. Строители работали на станции три года.",
            "Собянин",
        ),
    ],
)
def test_other_languages_get_their_names(language, title, text, name):
    tags = extract_tags(title, text, language)
    names = [t.name for t in tags]
    assert name in names[:4], tags
    assert tags[names.index(name)].kind == "person"
    for tag in tags:
        assert tag.slug and "/" not in tag.slug, tag  # a Cyrillic name keeps a Cyrillic slug
        assert tag.name[0].isupper(), tag
    assert len({t.slug for t in tags}) == len(tags)


def test_tiny_or_hostile_input_gives_few_tags_and_no_crash():
    assert extract_tags("", "") == []
    assert len(extract_tags("Hi", "Ok.")) < 3
    extract_tags("&amp;" * 50, "\x00<script>" * 200 + "A" * 5000, language="zz")
    extract_tags("北京 上海", "北京是中国的首都。上海是最大的城市。" * 50, language="zh")


def test_a_huge_text_costs_no_more_than_its_start():
    article = ORIGINALS[0]
    huge = (article.text() + "\n") * 1000  # about 1.5 MB
    assert len(huge) > 40 * MAX_CHARS
    start = time.process_time()
    tags = extract_tags(article.title, huge)
    assert time.process_time() - start < 1.0
    assert 3 <= len(tags) <= 8


def test_limit_is_respected():
    article = ORIGINALS[0]
    assert len(extract_tags(article.title, article.text(), limit=3)) == 3
    assert len(extract_tags(article.title, article.text(), limit=20)) > 8


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_tags", ROOT / "bench" / "tags.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_kpcrowd_floors():
    """Above YAKE's 0.48 on both halves: the weights were fitted on the first half only."""
    bench = load_bench()
    stories = bench.load(dataset("keyphrases-kpcrowd-dev"))
    tuning, held_out = bench.halves(stories)
    p5, f10, rate = bench.evaluate(stories, bench.ours)
    assert p5 >= 0.59
    assert f10 >= 0.175
    assert rate >= 100
    assert bench.evaluate(tuning, bench.ours)[0] >= 0.58
    assert bench.evaluate(held_out, bench.ours)[0] >= 0.61


def test_the_weights_in_the_source_are_the_ones_the_bench_fits():
    """`python bench/tags.py --fit` on the tuning half reproduces BIAS and WEIGHTS as written."""
    bench = load_bench()
    tuning, _ = bench.halves(bench.load(dataset("keyphrases-kpcrowd-dev")))
    bias, weights = bench.fit(tuning)
    assert bias == pytest.approx(tagger.BIAS, abs=6e-4)
    assert list(weights) == pytest.approx(list(tagger.WEIGHTS.values()), abs=6e-4)


def test_a_shouted_sentence_is_no_name():
    body = (
        "Governor Chris Christie defended the budget on Monday. Christie said the deficit left by "
        "his predecessor forced the cuts, and Christie promised lower property taxes next year.\n"
        + "IF CHRISTIE DIDN'T SPARK THE CORRUPTION IN NEW JERSEY RIGHT BEFORE THE ELECTION "
        "CORZINE WOULD HAVE WON. "
        * 2
        + "\nThe budget now goes to the state legislature in Trenton, where the debate continues."
    )
    names = [t.name for t in extract_tags("Christie defends budget", body, limit=30)]
    assert "Christie" in names and "Budget" in names
    assert max(len(name.split()) for name in names) < 3


def test_contractions_are_no_tags():
    body = (
        "The state launched its campaign on Monday. We\u2019re on it, the posters say, and "
        "We\u2019re On It runs across every billboard. Officials said the campaign would "
        "run all year. They'll measure the campaign by calls to the helpline. We're proud."
    )
    names = [t.name.lower() for t in extract_tags("We\u2019re on it: a campaign", body, limit=30)]
    assert "campaign" in names
    assert not [n for n in names if "\u2019" in n or "'" in n]


def test_unspaced_scripts_give_no_phrase_tags():
    # Japanese runs its words together: a token is a phrase, which no tag may be.
    body = (
        "KindleのアプリをWindowsで使うと、ショートカットキーで立ち上がることがあります。"
        "Kindleのデスクトップアプリは便利ですが、作業中に開くと困ります。"
        "今回はKindleの設定を変えて、Windowsでの誤作動を防ぐ方法を紹介します。"
    )
    names = [t.name for t in extract_tags("Kindleの設定", body, language="ja", limit=30)]
    assert "Kindle" in names
    assert all(name.isascii() for name in names), names


def test_a_name_before_a_hyphenated_description_keeps_its_last_word():
    body = (
        "South Dakota launched a campaign. The South Dakota-sized share of attention surprised "
        "the governor of South Dakota. A Los Angeles-based agency made the South Dakota "
        "campaign, and Oscar-winning actor Tom Hanks was not in it. The Los Angeles agency said "
        "the campaign worked."
    )
    names = [t.name for t in extract_tags("South Dakota campaign", body, limit=30)]
    assert {"South Dakota", "Los Angeles", "Tom Hanks"} <= set(names)
    assert not {"South", "Los", "Oscar"} & set(names)


def test_named_days_keep_their_day():
    body = (
        "Shops opened early for Black Friday. Black Friday deals ran all week, and Cyber Monday "
        "follows. President Biden Tuesday signed a bill on retail workers. Biden said shops must "
        "pay overtime on Memorial Day and on Black Friday. Shoppers queued before dawn."
    )
    names = [t.name for t in extract_tags("Black Friday crowds", body, limit=30)]
    assert {"Black Friday", "Biden", "Memorial Day", "Cyber Monday"} <= set(names)
    assert not {"Black", "Memorial", "Cyber", "Biden Tuesday"} & set(names)


def test_one_thing_is_tagged_once_whatever_its_number():
    body = (
        "Teachers marched on the Statehouse on Tuesday. Thousands of teachers filled the halls, "
        "and one teacher said pay had fallen behind. The Davis Cup Finals drew fans too: the "
        "Davis Cup Final format is new, and Teachers for Tennis cheered. Teachers said pay "
        "and classrooms came first; the teacher union backed them."
    )
    tags = extract_tags("Teachers march on Statehouse", body, limit=30)
    things = [tagger._one_thing(t.slug, "en") for t in tags]
    assert len(things) == len(set(things))
    assert "teacher" in things
    assert "thousands" not in {t.slug for t in tags}  # a count, not a topic


def test_new_before_a_name_the_article_uses_alone_describes_it():
    body = (
        "New South Dakota law requires permits for protests. South Dakota lawmakers passed it. "
        "The South Dakota governor signed it, and critics in South Dakota sued. READ WHAT I "
        "POST, one reader wrote. New York lawyers joined the suit in New York."
    )
    names = [t.name for t in extract_tags("South Dakota protest law", body, limit=30)]
    assert {"South Dakota", "New York"} <= set(names)
    assert not [name for name in names if name in ("New South Dakota", "READ WHAT I POST")]
