"""The plain-language checker: jargon, long sentences, sentence splitting, score and limits."""

from __future__ import annotations

import pytest

from coherence.comms.plain import MAX_CHARS, Finding, check_plain
from coherence.errors import ValidationFailed
from coherence.playbooks.domain import glossary


def plain_for(term: str) -> str:
    """Return the packaged glossary's plain wording for a term."""
    return next(plain for name, _definition, plain in glossary() if name == term)


def jargon(findings: tuple[Finding, ...]) -> dict[str, Finding]:
    """Index jargon findings by the text they flag."""
    return {finding.text: finding for finding in findings if finding.kind == "jargon"}


PUBLIC = (
    "We had a short power cut at the lab this morning. No one was hurt. "
    "The building is safe. We expect to be back to normal by Friday."
)
TECHNICAL = (
    "Following the pulse-tube compressor's error lockout, the MXC and 4K flange warmed, "
    "the QBER on the QKD link exceeded thresholds, and T1 degradation from TLS defects "
    "necessitates recalibration subsequent to the bakeout of the UHV system."
)


def test_a_plain_public_statement_scores_higher_than_a_technical_one() -> None:
    plain = check_plain(PUBLIC)
    technical = check_plain(TECHNICAL)

    assert plain.score > technical.score
    assert plain.grade == "plain"
    assert plain.findings == ()
    assert (plain.sentences, plain.words) == (4, 28)
    assert technical.grade == "hard"
    assert {"MXC", "QBER", "QKD", "T1", "TLS", "UHV"} <= set(jargon(technical.findings))
    assert 0 <= technical.score <= plain.score <= 100


def test_jargon_is_flagged_once_with_the_glossary_plain_wording() -> None:
    report = check_plain("The MXC reached 80 mK and the QBER rose. The MXC is fine now.")

    found = jargon(report.findings)
    assert list(found) == ["MXC", "QBER"]
    assert found["MXC"].suggestion == plain_for("MXC (mixing chamber)")
    assert found["QBER"].suggestion == plain_for("QBER (quantum bit error rate)")
    assert "MXC (mixing chamber)" in found["MXC"].message


def test_full_forms_plurals_and_hyphens_are_found_but_not_parts_of_words() -> None:
    found = jargon(
        check_plain(
            "The mixing chamber warmed. Two qubits failed after the pulse-tube compressor "
            "stopped. Things warm up. Words like cat1 and qbert or lowercase qber are not terms."
        ).findings
    )

    assert set(found) == {"mixing chamber", "qubits", "pulse-tube compressor"}
    assert found["pulse-tube compressor"].suggestion == plain_for("Pulse-tube compressor")


def test_abbreviations_match_case_sensitively_and_as_whole_words() -> None:
    assert jargon(check_plain("The T1 time dropped.").findings)
    assert not jargon(check_plain("The t1 time and XT1 and T10 dropped.").findings)


def test_a_term_explained_in_its_plain_words_is_not_flagged() -> None:
    text = (
        "The MXC is the coldest part of the refrigerator, where the quantum chip sits, "
        "just a hundredth of a degree above absolute zero. The QBER rose."
    )

    assert list(jargon(check_plain(text).findings)) == ["QBER"]


def test_everyday_words_in_the_glossary_are_not_jargon() -> None:
    report = check_plain("We are still working on recovery and the severity is low.")

    assert report.findings == ()


def test_long_sentences_are_flagged_with_their_text() -> None:
    long = "Cats " + " ".join(["and dogs"] * 12) + " ran."
    report = check_plain(f"A short one. {long} Another short one.", max_sentence_words=25)

    (finding,) = report.findings
    assert finding.kind == "long_sentence"
    assert finding.text == long
    assert "26 words" in finding.message
    assert finding.suggestion is None
    assert report.sentences == 3


def test_long_sentence_text_is_shortened() -> None:
    report = check_plain(" ".join(["extraordinarily"] * 40) + ".")

    (finding,) = report.findings
    assert len(finding.text) <= 120
    assert finding.text.endswith("\u2026")


def test_decimals_and_abbreviations_do_not_split_sentences() -> None:
    report = check_plain(
        "The stage is at 4.2 K, e.g. near approx. 3 K on the dial, i.e. cold. "
        "It warmed to 4 K. We are checking etc. and more! Is it safe? Yes."
    )

    assert report.sentences == 5


def test_the_score_is_lowered_by_findings_and_graded() -> None:
    clean = check_plain("The fridge is cold. All is well.")
    with_jargon = check_plain("The MXC is cold. All is well.")

    assert clean.score == 100
    assert clean.grade == "plain"
    assert with_jargon.score < clean.score
    assert clean.average_sentence_words == 3.5


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_text_is_refused(text: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_plain(text)

    assert caught.value.field == "text"


def test_oversized_text_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_plain("a" * (MAX_CHARS + 1))

    assert caught.value.field == "text"


def test_text_without_words_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_plain("(((...!!!")

    assert caught.value.field == "text"


@pytest.mark.parametrize(
    "text",
    [
        "a." * (MAX_CHARS // 2),
        "a. " * (MAX_CHARS // 3),
        "(" * (MAX_CHARS - 1) + "x",
        "." * (MAX_CHARS - 1) + "x",
        "mixing" + " " * (MAX_CHARS - 20) + "x",
        "e.g. " * (MAX_CHARS // 5),
        "MXC " * (MAX_CHARS // 4),
        "a " * (MAX_CHARS // 2),
    ],
)
def test_hostile_inputs_are_checked(text: str) -> None:
    report = check_plain(text)

    assert 0 <= report.score <= 100
    assert report.words > 0


def test_a_custom_glossary_is_used_instead_of_the_packaged_one() -> None:
    terms = [
        ("SLA (service level agreement)", "A contract on uptime.", "Our promise to customers."),
        ("Recovery", "Restoring service.", "Getting things working again."),
    ]
    report = check_plain(
        "The SLA holds and recovery is done. The MXC is cold.", glossary_terms=terms
    )

    found = jargon(report.findings)
    assert set(found) == {"SLA", "recovery"}
    assert found["SLA"].suggestion == "Our promise to customers."


def test_max_sentence_words_must_be_positive() -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_plain("Fine.", max_sentence_words=0)

    assert caught.value.field == "max_sentence_words"
