"""Plain-language checks for messages to non-technical readers (public, media, executives).

:func:`check_plain` is pure: apart from reading the packaged glossary through
:func:`coherence.playbooks.domain.glossary` it does no I/O, and its work grows linearly with
the text, which may be at most ``MAX_CHARS`` characters long.

Score::

    flesch = 206.835 - 1.015 * (words / sentences) - 84.6 * (syllables / words)
    score  = clamp(round(clamp(flesch, 0, 100))
                   - JARGON_PENALTY * jargon findings
                   - LONG_SENTENCE_PENALTY * long sentences, 0, 100)

Syllables come from a heuristic: groups of vowels (a e i o u y) in a word, one less for a
silent final "e", at least one a word. Grades: ``plain`` for a score of ``PLAIN_FROM`` or
more, ``needs work`` from ``HARD_BELOW`` up to that, ``hard`` below ``HARD_BELOW``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from coherence.errors import ValidationFailed
from coherence.playbooks.domain import glossary

MAX_CHARS = 50_000
JARGON_PENALTY = 8
LONG_SENTENCE_PENALTY = 5
PLAIN_FROM = 60
HARD_BELOW = 40
EXPLAINED_SHARE = 0.6
SHOWN_CHARS = 120

# Packaged glossary terms that are also everyday English words; never flagged as jargon.
EVERYDAY_TERMS = frozenset({"still", "severity", "detection", "containment", "recovery"})

_ABBREVIATIONS = frozenset(
    {"approx", "ca", "cf", "dr", "est", "fig", "incl", "mr", "mrs", "ms", "prof", "vs"}
)
_COMMON = """also been does from have into just more most much only over some such than that
their them then there these they this those very were what when where which while will with
would could should your about after before"""
_STOPWORDS = frozenset(_COMMON.split())
_CLOSERS = "\"')]\u2019\u201d"
_OPENERS = "\"'([\u2018\u201c"
_DASHES = "-\u2010\u2013\u2014"
_WORD = re.compile(r"\w+(?:['\u2019.\-]\w+)*")
_LETTERS = re.compile(r"[^\W\d_]+")
_VOWELS = re.compile(r"[aeiouy]+")
_END = re.compile(r"(?<![.!?])[.!?]++[" + re.escape(_CLOSERS) + r"]*+(?=\s|$)")
_NEXT = re.compile(r"\s*(\S?)")
_INITIALISM = re.compile(r"(?:[a-z]\.)+[a-z]")
_PAREN = re.compile(r"\(([^()]*)\)")
_ALTERNATIVES = re.compile(r"\s*/\s*|\s+and\s+")
_SEPARATOR = re.compile(r"(\s+|[" + _DASHES + r"])")


@dataclass(frozen=True)
class Finding:
    """One problem in a message: a jargon term or a long sentence."""

    kind: str
    text: str
    message: str
    suggestion: str | None


@dataclass(frozen=True)
class PlainReport:
    """How plain a message is, with what to fix."""

    score: int
    grade: str
    findings: tuple[Finding, ...]
    words: int
    sentences: int
    average_sentence_words: float


@dataclass(frozen=True)
class _Matcher:
    """Glossary terms compiled into one pattern, with each term's plain content words."""

    pattern: re.Pattern[str] | None
    group_term: tuple[int, ...]
    terms: tuple[tuple[str, str, str], ...]
    plain_words: tuple[frozenset[str], ...]


def _content_words(text: str) -> frozenset[str]:
    """Return the lower-cased words of 4+ letters that carry meaning, without a plural s."""
    words = set()
    for word in _LETTERS.findall(text.lower()):
        if len(word) >= 4 and word not in _STOPWORDS:
            words.add(word[:-1] if len(word) > 4 and word.endswith("s") else word)
    return frozenset(words)


def _forms(term: str) -> list[str]:
    """Return the ways a term appears: full form, bracketed abbreviation, listed variants."""
    chunks = [" ".join(_PAREN.sub(" ", term).split()), *_PAREN.findall(term)]
    forms = (part.strip() for chunk in chunks for part in _ALTERNATIVES.split(chunk))
    return [form for form in forms if form]


def _form_pattern(form: str) -> str:
    """Return a regex for a form: spaces match spaces or hyphens, plurals too, ABBRs keep case."""
    parts = _SEPARATOR.split(form)
    pattern = "".join(
        re.escape(part) if i % 2 == 0 else (r"[\s\-]++" if part.isspace() else "[" + _DASHES + "]")
        for i, part in enumerate(parts)
    )
    if any(c.islower() for c in form):
        return f"(?i:{pattern}(?:e?s)?+)"
    return f"{pattern}s?+"


@lru_cache(maxsize=16)
def _matcher(terms: tuple[tuple[str, str, str], ...], skip_everyday: bool) -> _Matcher:
    """Compile the glossary once: longest forms first, so the longest match wins."""
    alternatives: list[tuple[str, int]] = []
    for index, (term, _definition, _plain) in enumerate(terms):
        if skip_everyday and term.strip().lower() in EVERYDAY_TERMS:
            continue
        alternatives.extend((form, index) for form in _forms(term))
    alternatives.sort(key=lambda item: -len(item[0]))
    body = "|".join(f"({_form_pattern(form)})" for form, _ in alternatives)
    pattern = re.compile(rf"(?<!\w)(?:{body})(?!\w)") if alternatives else None
    plain_words = tuple(_content_words(p) - _content_words(t) for t, _d, p in terms)
    return _Matcher(pattern, tuple(i for _, i in alternatives), terms, plain_words)


def _shorten(text: str) -> str:
    """Return text on one line, cut to about ``SHOWN_CHARS`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1].rstrip() + "\u2026"


def _is_break(text: str, end: re.Match[str]) -> bool:
    """Return whether end punctuation ends a sentence (not "e.g.", "approx.", "etc. and")."""
    if end.group().rstrip(_CLOSERS) != ".":
        return True
    before = text[max(0, end.start() - 24) : end.start()].split()
    word = before[-1].lstrip(_OPENERS).lower() if before else ""
    if word in _ABBREVIATIONS or _INITIALISM.fullmatch(word):
        return False
    following = _NEXT.match(text, end.end())
    return following is None or not following.group(1).islower()


def _sentences(text: str) -> list[tuple[int, str]]:
    """Split text into (start, sentence) pairs; decimals and abbreviations do not split."""
    pieces: list[tuple[int, str]] = []
    start = 0
    for end in _END.finditer(text):
        if _is_break(text, end):
            pieces.append((start, text[start : end.end()]))
            start = end.end()
    pieces.append((start, text[start:]))
    return [(at, piece.strip()) for at, piece in pieces if _WORD.search(piece)]


def _syllables(word: str) -> int:
    """Estimate a word's syllables from its vowel groups."""
    word = word.lower()
    count = len(_VOWELS.findall(word))
    if count > 1 and word.endswith("e") and not word.endswith(("le", "ee")):
        count -= 1
    return max(1, count)


def _grade(score: int) -> str:
    """Name the band a score falls in."""
    if score >= PLAIN_FROM:
        return "plain"
    return "needs work" if score >= HARD_BELOW else "hard"


def _jargon(text: str, matcher: _Matcher) -> list[tuple[int, Finding]]:
    """Find glossary terms used without their plain wording, each term once."""
    if matcher.pattern is None:
        return []
    text_words = _content_words(text)
    found: list[tuple[int, Finding]] = []
    seen: set[int] = set()
    for match in matcher.pattern.finditer(text):
        index = matcher.group_term[(match.lastindex or 1) - 1]
        if index in seen:
            continue
        seen.add(index)
        term, _definition, plain = matcher.terms[index]
        wanted = matcher.plain_words[index]
        if wanted and len(wanted & text_words) >= EXPLAINED_SHARE * len(wanted):
            continue
        shown = _shorten(match.group())
        message = (
            f'"{shown}" is specialist language (glossary: "{term}"); '
            "say what it means in plain words or leave it out"
        )
        found.append((match.start(), Finding("jargon", shown, message, plain.strip() or None)))
    return found


def check_plain(
    text: str,
    *,
    max_sentence_words: int = 25,
    glossary_terms: Sequence[tuple[str, str, str]] | None = None,
) -> PlainReport:
    """Score how plain a message is and list its jargon and long sentences.

    A glossary term is found case-insensitively as a whole word, in its full form or by the
    abbreviation in its brackets (abbreviations such as "MXC" or "T1" match case-sensitively).
    A term counts as explained, and is not reported, when at least ``EXPLAINED_SHARE`` (60 %)
    of the distinct content words (4+ letters, common words and the term's own words left
    out, a plural "s" ignored) of its plain wording appear anywhere in the text. Each term is
    reported once. With the packaged glossary, ``EVERYDAY_TERMS`` are never reported. A
    sentence ends at . ! or ? before a space or the end of the text, but not after an
    abbreviation ("e.g.", "approx.") or before a lower-case word; one of more than
    ``max_sentence_words`` words is reported. Raises ValidationFailed
    for empty text or text longer than ``MAX_CHARS``; see the module docstring for the score.
    """
    if not text.strip():
        raise ValidationFailed("write the message to check; the text is empty", field="text")
    if len(text) > MAX_CHARS:
        raise ValidationFailed(
            f"the text has {len(text)} characters; check at most {MAX_CHARS} at a time",
            field="text",
        )
    if max_sentence_words < 1:
        raise ValidationFailed("max_sentence_words must be at least 1", field="max_sentence_words")
    terms = (
        glossary() if glossary_terms is None else tuple((t[0], t[1], t[2]) for t in glossary_terms)
    )
    findings = _jargon(text, _matcher(terms, glossary_terms is None))
    jargon_count = len(findings)
    words = syllables = 0
    sentences = _sentences(text)
    for at, sentence in sentences:
        tokens = _WORD.findall(sentence)
        words += len(tokens)
        syllables += sum(_syllables(token) for token in tokens)
        if len(tokens) > max_sentence_words:
            message = (
                f"this sentence has {len(tokens)} words; "
                f"split it into sentences of at most {max_sentence_words}"
            )
            findings.append((at, Finding("long_sentence", _shorten(sentence), message, None)))
    if words == 0:
        raise ValidationFailed("the text has no words to check", field="text")
    average = words / len(sentences)
    flesch = 206.835 - 1.015 * average - 84.6 * (syllables / words)
    long_count = len(findings) - jargon_count
    penalty = JARGON_PENALTY * jargon_count + LONG_SENTENCE_PENALTY * long_count
    score = max(0, min(100, round(max(0.0, min(100.0, flesch))) - penalty))
    ordered = tuple(finding for _, finding in sorted(findings, key=lambda item: item[0]))
    return PlainReport(score, _grade(score), ordered, words, len(sentences), round(average, 1))
