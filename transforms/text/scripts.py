"""Writing systems: what a word is in scripts with and without spaces.

Counting words by spaces reads a Chinese or Thai paragraph as one or two
"words", since those scripts do not separate words; the 12-word minimum
then dead-letters every such article as ``no_text``. Splitting them into
real words needs a dictionary per language (ICU's break iterators, jieba,
pythainlp: large, and none of them packaged for every script), which the
uses here do not need: a length unit and a duplicate-detection unit.

- **Length** (``count_words``): a run of Han or kana counts one word per
  ``HAN_CHARS_PER_WORD`` characters, a run of Thai, Lao, Khmer or Myanmar one
  per ``SEA_LETTERS_PER_WORD`` letters (combining vowel signs and tone marks
  not counted). The two ratios were measured on the ITN stream
  (``shared/data/itn``): over the 46 stories told in both English and
  Chinese the median is 2.26 Han characters per English word, over the 26
  told in English and Thai 3.97 Thai letters per English word. Text
  without those scripts counts exactly as ``len(text.split())``.
- **Tokens** (``split_unspaced``): each character of those scripts (with
  its combining marks) is a token of its own, so that word shingles become
  character shingles there, the usual unit for near-duplicates in Chinese.
"""

import math
import re

HAN_CHARS_PER_WORD = 2
SEA_LETTERS_PER_WORD = 4

# Han (with its extensions and compatibility ideographs, the iteration mark
# and ideographic zero), hiragana, katakana.
_HAN = (
    "\u3005\u3007\u3021-\u3029\u3038-\u303b\u3040-\u30ff\u31f0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
)
# Thai, Lao, Myanmar, Khmer (letters and their marks).
_SEA = "\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff\u19e0-\u19ff"
_UNSPACED = re.compile(f"[{_HAN}{_SEA}]")
_HAN_CHAR = re.compile(f"[{_HAN}]")
# A letter of the Southeast Asian scripts, not a combining mark: the vowel
# signs and tone marks written above or below a letter are no extra length.
_SEA_MARKS = (
    "\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u0eb1\u0eb4-\u0ebc\u0ec8-\u0ecd"
    "\u102b-\u103e\u1056-\u1059\u105e-\u1060\u1062-\u1064\u1067-\u106d"
    "\u1071-\u1074\u1082-\u108d\u108f\u109a-\u109d\u17b4-\u17d3\u17dd"
)
_SEA_LETTER = re.compile(f"[{_SEA}](?<![{_SEA_MARKS}])")
# Combining marks of the scripts the token pattern must keep inside words.
# Python's ``\w`` leaves out categories Mn and Mc, and so would cut Hindi
# "हिन्दी" into its consonants and Thai "ที่" into "ท". Listed by block
# (Latin, Cyrillic, Hebrew, Arabic, the Indic scripts from Devanagari to
# Sinhala, Southeast Asia, and the generic combining blocks);
# tests/transforms/text/test_scripts.py checks every Mn/Mc there is covered.
MARKS = (
    "\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7"
    "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed"
    "\u0900-\u0903\u093a-\u094f\u0951-\u0957\u0962\u0963"
    "\u0981-\u0983\u09bc\u09be-\u09cd\u09d7\u09e2\u09e3\u09fe"
    "\u0a01-\u0a03\u0a3c-\u0a51\u0a70\u0a71\u0a75\u0a81-\u0a83\u0abc-\u0acd\u0ae2\u0ae3"
    "\u0afa-\u0aff\u0b01-\u0b03\u0b3c-\u0b57\u0b62\u0b63\u0b82\u0bbe-\u0bd7"
    "\u0c00-\u0c04\u0c3c-\u0c56\u0c62\u0c63\u0c81-\u0c83\u0cbc-\u0cd6\u0ce2\u0ce3\u0cf3"
    "\u0d00-\u0d03\u0d3b\u0d3c\u0d3e-\u0d4d\u0d57\u0d62\u0d63"
    "\u0d81-\u0d83\u0dca-\u0ddf\u0df2\u0df3"
    f"{_SEA_MARKS}\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20f0\ufe20-\ufe2f"
)
# One token of an unspaced script: a character and the marks written on it;
# or a run of anything else (a Latin name inside Chinese text).
_UNIT = re.compile(f"[{_HAN}{_SEA}][{MARKS}]*|[^{_HAN}{_SEA}]+")


def has_unspaced(text: str) -> bool:
    """True when the text holds Han, kana, Thai, Lao, Khmer or Myanmar."""
    return _UNSPACED.search(text) is not None


def count_words(text: str) -> int:
    """Words of the text, with runs of unspaced scripts counted in word-sized units.

    Exactly ``len(text.split())`` for text without those scripts.
    """
    if text.isascii() or not has_unspaced(text):
        return len(text.split())
    words = 0
    han = 0
    sea = 0
    for token in text.split():
        if not has_unspaced(token):
            words += 1
            continue
        han += len(_HAN_CHAR.findall(token))
        sea += len(_SEA_LETTER.findall(token))
        rest = _UNSPACED.sub(" ", token)
        words += sum(1 for part in rest.split() if any(ch.isalnum() for ch in part))
    return words + math.ceil(han / HAN_CHARS_PER_WORD) + math.ceil(sea / SEA_LETTERS_PER_WORD)


def split_unspaced(token: str) -> list[str]:
    """A word token cut into its unspaced-script characters; other tokens unchanged."""
    if not has_unspaced(token):
        return [token]
    return _UNIT.findall(token)
