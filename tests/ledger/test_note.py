"""C2SP signed notes and tlog checkpoints, against golang.org/x/mod/sumdb/note's examples."""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coherence.ledger import note as note_module
from coherence.ledger.note import (
    Checkpoint,
    NoteError,
    generate_signer,
    open_note,
    parse_checkpoint,
    sign_note,
)

# From the golang.org/x/mod/sumdb/note package documentation and its note_test.go.
PETER_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "\u2014 EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)
SIGNED = TEXT + "\n" + PETER_SIG


def test_signing_reproduces_the_go_example() -> None:
    assert sign_note(TEXT, PETER_SIGNER) == SIGNED


def test_opening_the_go_example() -> None:
    assert open_note(SIGNED, [PETER]) == TEXT
    assert open_note(SIGNED, [ENOCH, PETER]) == TEXT


def test_signatures_by_unknown_keys_are_ignored() -> None:
    both = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(both, [PETER]) == TEXT
    assert open_note(both, [ENOCH]) == TEXT
    assert open_note(both, [PETER, ENOCH]) == TEXT
    with pytest.raises(
        NoteError, match=re.escape("known key; signed by PeterNeumann+c74f20a3, EnochRoot+af0cfe78")
    ):
        open_note(both, [])


def test_a_generated_key_signs_and_opens() -> None:
    signer, verifier = generate_signer("example.com/log")
    assert signer.startswith("PRIVATE+KEY+example.com/log+")
    assert verifier.split("+")[:2] == signer.split("+")[2:4]
    note = sign_note(TEXT, signer)
    assert open_note(note, [verifier]) == TEXT
    with pytest.raises(NoteError, match="no signature by a known key"):
        open_note(note, [PETER])
    with pytest.raises(NoteError, match="no signature by a known key"):
        open_note(SIGNED, [verifier])


@pytest.mark.parametrize(
    ("note", "message"),
    [
        (SIGNED.replace("cryptography", "cryptograph"), "invalid signature"),
        (TEXT + "\n\n" + PETER_SIG, "invalid signature"),
        (TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:], "invalid signature"),
        (SIGNED.replace("x08go/", "x08go+"), "invalid signature"),
        (SIGNED.replace("x08g", "xxxx"), "no signature by a known key"),
        (SIGNED.replace("PeterNeumann", "CarmenSandiego"), "no signature by a known key"),
        (SIGNED[:-1], "malformed note"),
        (SIGNED + "\n", "malformed note"),
        (TEXT, "malformed note"),
        (TEXT + "\n", "malformed note"),
        ("\x01" + SIGNED, "malformed note"),
        ("\ud800" + SIGNED, "malformed note"),
        (SIGNED.replace("\u2014", "-"), "malformed note"),
        (
            SIGNED.replace("\u2014 PeterNeumann", "\u2014 Peter Neumann"),
            "malformed note: signature by Peter: bad base64",
        ),
        (SIGNED.replace("\u2014 PeterNeumann", "\u2014 Peter+Neumann"), "key name"),
        (SIGNED + "Unexpected line.\n", "malformed note"),
        (TEXT + "\n" + "\u2014 PeterNeumann AAAA\n", "too short"),
        (TEXT + "\n" + PETER_SIG * 101, "more than 100 signatures"),
    ],
)
def test_tampered_notes_are_rejected(note: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        open_note(note, [PETER])


def test_repeated_signatures_are_accepted_up_to_the_limit() -> None:
    assert open_note(TEXT + "\n" + PETER_SIG * 100, [PETER]) == TEXT


def test_verifier_key_manglings_are_rejected() -> None:
    # The same manglings golang.org/x/mod/sumdb/note's TestNewVerifier rejects.
    key = PETER.encode()
    manglings = {key[i:j] for i in range(len(key) + 1) for j in range(i + 1, len(key) + 1)}
    manglings |= {key[:i] + bytes([key[i] + 1]) + key[i + 1 :] for i in range(len(key))}
    manglings.discard(key)
    manglings |= {
        b"PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        b"PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    }
    for mangled in manglings:
        with pytest.raises(NoteError):
            open_note(SIGNED, [mangled.decode("latin-1")])


def test_signer_key_manglings_are_rejected() -> None:
    key = PETER_SIGNER
    manglings = {key[i:j] for i in range(len(key) + 1) for j in range(i + 1, len(key) + 1)}
    manglings |= {key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :] for i in range(len(key))}
    manglings.discard(key)
    for mangled in manglings:
        with pytest.raises(NoteError) as raised:
            sign_note(TEXT, mangled)
        assert "FALVFG" not in str(raised.value), "the error must not quote the private key"


def test_a_verifier_key_with_the_wrong_key_id_is_rejected() -> None:
    _, other = generate_signer("PeterNeumann")
    with pytest.raises(NoteError, match="wrong key ID"):
        open_note(SIGNED, ["PeterNeumann+c74f20a3+" + other.split("+", 2)[2]])


def test_two_keys_with_one_name_and_key_id_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    assert open_note(SIGNED, [PETER, PETER]) == TEXT
    _, other = generate_signer("PeterNeumann")
    # Finding a real 32-bit key ID collision takes billions of hashes; pretend one was found.
    monkeypatch.setattr(note_module, "_key_id", lambda name, public_key: bytes.fromhex("c74f20a3"))
    colliding = "PeterNeumann+c74f20a3+" + other.split("+", 2)[2]
    with pytest.raises(NoteError, match="two verifier keys"):
        open_note(SIGNED, [PETER, colliding])


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\u00a0b", "a\tb"])
def test_bad_names_are_rejected(name: str) -> None:
    with pytest.raises(NoteError, match="key name"):
        generate_signer(name)


@pytest.mark.parametrize(
    ("text", "message"),
    [("no final newline", "end with a newline"), ("bell \x07\n", "control character")],
)
def test_unsignable_text_is_rejected(text: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        sign_note(text, PETER_SIGNER)


def test_text_with_blank_lines_signs_and_opens() -> None:
    text = "first\n\nthird\n\n"
    assert open_note(sign_note(text, PETER_SIGNER), [PETER]) == text


# The example checkpoint body from https://c2sp.org/tlog-checkpoint.
C2SP_CHECKPOINT = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)


def test_parses_the_c2sp_checkpoint_example() -> None:
    checkpoint = parse_checkpoint(C2SP_CHECKPOINT)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert checkpoint.extensions == ()
    assert checkpoint.to_text() == C2SP_CHECKPOINT


def test_a_signed_checkpoint_round_trips() -> None:
    signer, verifier = generate_signer("example.com/log")
    checkpoint = Checkpoint("example.com/log", 0, bytes(32), ("ext one", "ext two"))
    assert checkpoint.to_text() == (
        "example.com/log\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next one\next two\n"
    )
    note = sign_note(checkpoint.to_text(), signer)
    assert parse_checkpoint(open_note(note, [verifier])) == checkpoint


ROOT = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="


@pytest.mark.parametrize(
    "text",
    [
        f"origin\n1\n{ROOT}",
        f"origin\n1\n{ROOT}\n\n",
        f"origin\n1\n{ROOT}\n\nextension\n",
        "origin\n1\n",
        f"\n1\n{ROOT}\n",
        f"origin\n01\n{ROOT}\n",
        f"origin\n00\n{ROOT}\n",
        f"origin\n-1\n{ROOT}\n",
        f"origin\n+1\n{ROOT}\n",
        f"origin\n 1\n{ROOT}\n",
        f"origin\n\u0661\n{ROOT}\n",
        f"origin\n{2**64}\n{ROOT}\n",
        f"origin\n{'9' * 21}\n{ROOT}\n",
        "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2=\n",
        "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n",
        "origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
        "origin\n1\nAAAA\n",
        f"ori\tgin\n1\n{ROOT}\n",
    ],
)
def test_malformed_checkpoints_are_rejected(text: str) -> None:
    with pytest.raises(NoteError, match="malformed"):
        parse_checkpoint(text)


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        ("", 1, bytes(32), ()),
        ("origin", -1, bytes(32), ()),
        ("origin", 2**64, bytes(32), ()),
        ("origin", 1, bytes(31), ()),
        ("origin\nsize", 1, bytes(32), ()),
        ("origin", 1, bytes(32), ("",)),
        ("origin", 1, bytes(32), ("a\nb",)),
    ],
)
def test_impossible_checkpoints_are_rejected(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    with pytest.raises(NoteError, match="malformed checkpoint"):
        Checkpoint(origin, size, root, extensions)


LINE = st.text(
    st.characters(exclude_categories=["Cs"], min_codepoint=0x20), min_size=1, max_size=20
)


@given(
    origin=LINE,
    size=st.integers(0, 2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(LINE, max_size=3).map(tuple),
)
def test_checkpoint_text_round_trips(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    checkpoint = Checkpoint(origin, size, root, extensions)
    assert parse_checkpoint(checkpoint.to_text()) == checkpoint
