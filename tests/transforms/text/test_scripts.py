"""Every script: word counts, tokens, duplicates, terms.

Latin, Cyrillic, Arabic, Han, Thai and Devanagari.

The texts are written for these tests: for each script, two reports of
different events (A, B) and a third, C, on the same event as A. Two
different texts must never be duplicates of each other, while a copy that
differs only in spacing, width and punctuation is an exact duplicate and a
copy with a credit line added is a near one.
"""

import datetime as dt
import sys
import unicodedata

import numpy as np
import pytest

from tests.tracker_support import article
from transforms.clustering.duplicates import DuplicateIndex
from transforms.core.errors import ExtractionError
from transforms.core.records import ArticleMeta, RawDocument
from transforms.core.settings import ExtractionSettings
from transforms.text import scripts
from transforms.text.extraction import extract_article
from transforms.text.fingerprint import (
    WatchTermMatcher,
    compute_features,
    jaccard_estimate,
    minhash,
    normalise,
    salient_terms,
)

TEXTS = {
    "latin": (
        "Russia and Iran signed a comprehensive strategic partnership treaty in Moscow on "
        "Friday, the Kremlin said, after two years of talks between the two governments.",
        "Heavy floods in Pakistan have killed more than a thousand people and displaced "
        "millions this summer, the national disaster agency said on Monday.",
        "Moscow and Tehran sealed a long-awaited strategic treaty on Friday as President "
        "Putin hosted the Iranian president in the Kremlin.",
        "— Reuters",
    ),
    "cyrillic": (
        "Россия и Иран подписали в Москве договор о всеобъемлющем стратегическом "
        "партнёрстве, сообщили в Кремле после двух лет переговоров между правительствами.",
        "Сильные наводнения в Пакистане унесли жизни более тысячи человек и вынудили "
        "миллионы покинуть дома этим летом, сообщило национальное агентство.",
        "Москва и Тегеран в пятницу заключили долгожданный стратегический договор, когда "
        "Путин принимал в Кремле президента Ирана.",
        "— ТАСС",
    ),
    "arabic": (
        "وقعت روسيا وإيران في موسكو يوم الجمعة معاهدة شراكة استراتيجية شاملة، بحسب "
        "الكرملين، بعد عامين من المحادثات بين الحكومتين.",
        "أودت الفيضانات الشديدة في باكستان بحياة أكثر من ألف شخص وشردت الملايين هذا "
        "الصيف، وفق الوكالة الوطنية لإدارة الكوارث.",
        "أبرمت موسكو وطهران يوم الجمعة معاهدة استراتيجية طال انتظارها خلال استقبال بوتين "
        "للرئيس الإيراني في الكرملين.",
        "— وكالة الأنباء",
    ),
    "han": (
        "俄罗斯和伊朗周五在莫斯科签署了全面战略伙伴关系条约，克里姆林宫表示，两国政府此前谈判了两年。",
        "巴基斯坦今年夏天的严重洪灾已造成一千多人死亡，数百万人流离失所，国家灾害管理局周一表示。",
        "普京周五在克里姆林宫接待伊朗总统，莫斯科与德黑兰签署了期待已久的战略条约。",
        "（新华社）",
    ),
    "thai": (
        "รัสเซียและอิหร่านลงนามสนธิสัญญาหุ้นส่วนยุทธศาสตร์รอบด้านที่กรุงมอสโกเมื่อวันศุกร์ "
        "หลังจากการเจรจาระหว่างสองรัฐบาลนานสองปี",
        "น้ำท่วมรุนแรงในปากีสถานคร่าชีวิตผู้คนมากกว่าหนึ่งพันคน และทำให้ผู้คนหลายล้านต้องไร้ที่อยู่ในฤดูร้อนนี้",
        "ปูตินต้อนรับประธานาธิบดีอิหร่านที่เครมลินเมื่อวันศุกร์ ขณะที่มอสโกและเตหะรานลงนามสนธิสัญญายุทธศาสตร์",
        "(สำนักข่าวไทย)",
    ),
    "devanagari": (
        "रूस और ईरान ने शुक्रवार को मास्को में व्यापक रणनीतिक साझेदारी संधि पर हस्ताक्षर किए, "
        "क्रेमलिन ने कहा, दोनों सरकारों के बीच दो साल की बातचीत के बाद।",
        "पाकिस्तान में भीषण बाढ़ से एक हजार से अधिक लोगों की मौत हो गई और इस गर्मी में "
        "लाखों लोग बेघर हो गए, राष्ट्रीय आपदा एजेंसी ने कहा।",
        "शुक्रवार को पुतिन ने क्रेमलिन में ईरान के राष्ट्रपति की मेजबानी की और मास्को तथा "
        "तेहरान ने लंबे समय से प्रतीक्षित रणनीतिक संधि पर हस्ताक्षर किए।",
        "— पीटीआई",
    ),
}
SCRIPTS = sorted(TEXTS)


def _features(text: str) -> tuple[str, tuple[int, ...]]:
    f = compute_features("", text, WatchTermMatcher([]))
    return f.exact_hash, f.minhash


def _respaced(text: str) -> str:
    """The same words: doubled spaces, a line break, full-width digits, NFD form."""
    wide = text.replace(" ", "  ", 2).replace("2", "２")
    return unicodedata.normalize("NFD", wide) + "\n"


@pytest.mark.parametrize("script", SCRIPTS)
def test_different_texts_are_never_duplicates(script: str) -> None:
    a, b, c, _ = TEXTS[script]
    index = DuplicateIndex()
    for n, text in enumerate((a, b, c)):
        item = article(f"{script}-{n}", np.ones(4), day=n, text=text)
        assert index.find(item, near_threshold=0.8) is None, (script, n)
        index.remember(item)
    hashes = {_features(t)[0] for t in (a, b, c)}
    assert len(hashes) == 3
    assert jaccard_estimate(minhash(a), minhash(c)) < 0.3


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_real_copy_is_a_duplicate(script: str) -> None:
    a, b, _, credit = TEXTS[script]
    story = f"{a}\n{b}"
    index = DuplicateIndex()
    index.remember(article("original", np.ones(4), day=0, text=story))
    exact = index.find(article("copy", np.ones(4), day=1, text=_respaced(story)), 0.8)
    assert exact == ("original", "exact", 1.0)
    near = index.find(article("credited", np.ones(4), day=1, text=f"{story}\n{credit}"), 0.8)
    assert near is not None and near[:2] == ("original", "near"), near


def test_no_two_scripts_share_a_hash_and_no_text_is_empty() -> None:
    # The bug this guards: an ASCII tokeniser read every non-Latin text as nothing.
    texts = [t for group in TEXTS.values() for t in group[:3]]
    assert all(normalise(t) for t in texts)
    assert len({_features(t)[0] for t in texts}) == len(texts)


def test_marks_stay_inside_words() -> None:
    assert normalise("हिन्दी भाषा") == "हिन्दी भाषा"
    assert normalise("ที่") == "ที่"  # one letter and its marks
    assert normalise("俄罗斯 iPhone手机") == "俄 罗 斯 iphone 手 机"
    # Every combining mark of the Indic, Hebrew, Arabic and Southeast Asian
    # blocks is in scripts.MARKS (else \w would cut words at it).
    # In Thai, Lao, Myanmar and Khmer the mark stays on its letter (one token).
    blocks = [(0x0591, 0x05C7, "a"), (0x0610, 0x06ED, "a"), (0x0900, 0x0DFF, "a")]
    blocks += [(0x0E00, 0x0E7F, "ก"), (0x0E80, 0x0EFF, "ກ"), (0x1000, 0x109F, "က")]
    blocks += [(0x1780, 0x17FF, "ក")]
    for low, high, base in blocks:
        for code in range(low, high + 1):
            ch = chr(code)
            if unicodedata.category(ch) in ("Mn", "Mc"):
                assert normalise(f"{base}{ch}") == f"{base}{ch}", hex(code)


def test_word_counts_by_spaces_except_in_scripts_without_them() -> None:
    latin, cyrillic, arabic, devanagari = (TEXTS[s][0] for s in TEXTS if s not in ("han", "thai"))
    for text in (latin, cyrillic, arabic, devanagari):
        assert scripts.count_words(text) == len(text.split())
    han = TEXTS["han"][0]  # 45 characters, 43 of them Han
    assert scripts.count_words(han) == 22
    thai = TEXTS["thai"][0]
    assert 12 <= scripts.count_words(thai) <= 25
    assert scripts.count_words("在 iPhone 上") == 2  # 2 Han → 1, plus the Latin word


def _extract(text: str) -> str:
    doc = RawDocument(
        "blurb",
        "mem://blurb",
        text.encode(),
        "text/plain",
        ArticleMeta(published=dt.datetime(2022, 9, 1, tzinfo=dt.UTC), origin="document"),
    )
    result = extract_article(doc, ExtractionSettings(), dt.datetime(2023, 1, 1, tzinfo=dt.UTC))
    return f"{result.title}\n{result.text}"


@pytest.mark.parametrize(
    "text",
    [
        # One line of Chinese news (the English says it in about 18 words).
        "11月8日，美国举行中期选举，民主党保住参议院控制权，共和党赢得众议院多数席位。",
        # Thai: "Queen Elizabeth II of the United Kingdom dies at Balmoral, aged 96".
        "สมเด็จพระราชินีนาถเอลิซาเบธที่ 2 แห่งสหราชอาณาจักรสวรรคตที่ปราสาทบัลมอรัล สิริพระชนมายุ 96 พรรษา",
    ],
)
def test_a_short_but_real_blurb_is_an_article(text: str) -> None:
    assert text.replace(" ", "")[:6] in _extract(text).replace(" ", "")


@pytest.mark.parametrize(
    "text",
    [
        "11月8日，美国举行中期选举。",  # "On 8 November the US held midterm elections": 7 units
        "สมเด็จพระราชินีนาถเอลิซาเบธที่ 2 สวรรคต",  # "Queen Elizabeth II dies": 8 units
    ],
)
def test_a_headline_length_blurb_is_still_no_text(text: str) -> None:
    with pytest.raises(ExtractionError, match="words of title and text"):
        _extract(text)


def test_names_in_scripts_without_capitals_are_terms() -> None:
    cyrillic = dict(salient_terms(TEXTS["cyrillic"][2]))
    assert {"путин", "тегеран", "кремле"} <= set(cyrillic)
    arabic = dict(salient_terms(TEXTS["arabic"][2]))
    assert {"بوتين", "الكرملين"} <= set(arabic)  # (clitics stay on: "وطهران")
    han = dict(salient_terms(TEXTS["han"][2]))
    assert {"普京", "伊朗"} <= set(han)
    hindi = dict(salient_terms(TEXTS["devanagari"][2]))
    assert "पुतिन" in hindi
    # English keeps its capitalised-name rule exactly.
    assert dict(salient_terms("Despite talks, Putin met Raisi.")) == {"putin": 1, "raisi": 1}


def test_watched_terms_in_a_script_without_spaces_are_found() -> None:
    matcher = WatchTermMatcher(["Russia", "俄罗斯", "รัสเซีย", "Россия"])
    assert matcher(TEXTS["han"][0]) == {"俄罗斯"}
    assert matcher(TEXTS["thai"][0]) == {"รัสเซีย"}
    assert matcher("Россия и Иран") == {"россия"}
    assert matcher("Russian") == frozenset()  # boundaries still hold in spaced scripts


assert sys.maxunicode > 0xFFFF  # the Han extension planes are in scripts._HAN
