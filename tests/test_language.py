import pytest

from broadsheet.enrichment.language import detect_language, normalize_hint

SAMPLES = {
    "en": "The harbour crane fell across two berths on Tuesday, and the port stayed shut while "
    "inspectors examined the damaged rails.",
    "de": "Der Kran stürzte am Dienstag auf zwei Liegeplätze, und der Hafen blieb geschlossen, "
    "während Prüfer die beschädigten Schienen untersuchten.",
    "fr": "La grue est tombée mardi sur deux quais, et le port est resté fermé pendant que les "
    "inspecteurs examinaient les rails endommagés.",
    "es": "La grúa cayó el martes sobre dos muelles, y el puerto permaneció cerrado mientras los "
    "inspectores revisaban los rieles dañados.",
}


@pytest.mark.parametrize("code", sorted(SAMPLES))
def test_detects_the_language_of_a_paragraph(code):
    assert detect_language(SAMPLES[code]) == code


def test_text_outweighs_a_wrong_declaration():
    assert detect_language(SAMPLES["de"], hint="en-US") == "de"


def test_short_text_falls_back_to_the_declared_language():
    assert detect_language("Rate rise", hint="fr-FR") == "fr"
    assert detect_language("", hint="ES") == "es"


def test_short_text_without_a_hint_is_unknown():
    assert detect_language("Rate rise") == ""
    assert detect_language("", hint="not a language") == ""


def test_normalize_hint():
    assert normalize_hint(" en_GB ") == "en"
    assert normalize_hint("zh-Hant-TW") == "zh"
    assert normalize_hint("english") == ""
