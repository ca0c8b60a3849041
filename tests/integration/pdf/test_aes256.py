"""AES-256 (R6) written with OpenSSL around qpdf's writer, judged by qpdf itself, poppler and pikepdf: the
same permissions, passwords and contents as qpdf's own encryption, every string and stream encrypted."""

from __future__ import annotations

import io
import itertools
import re
import zlib
from collections import Counter

import pikepdf
import pytest

from pressroom.pdf import aes256, encrypt, pipeline
from tests.pdf_fixtures import text_pdf
from tests.pdf_support import run_tool
from tests.support import pdftotext

TITLE = "Confidential — plan B"
SECRET_TEXT = b"BT /F1 24 Tf 72 700 Td (TOPSECRET-CONTENT) Tj ET"


def encrypted(
    pdf: pikepdf.Pdf, user: str, owner: str | None = None, permissions: dict[str, bool] | None = None
) -> bytes:
    key = aes256.new_file_key()
    data = aes256.write_encrypted(pdf, key)
    return aes256.add_to_trailer(data, aes256.encrypt_dictionary(key, user, owner, permissions))


def rich_pdf() -> pikepdf.Pdf:
    """Strings and streams in every place they can hide: Info, an annotation, a nested array, an indirect
    string, a hex string, a Flate content stream, XMP metadata, and a signature dictionary."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page()
    font = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica)
    )
    page.add_resource(font, pikepdf.Name.Font, pikepdf.Name.F1)
    page.obj.Contents = pdf.make_stream(zlib.compress(SECRET_TEXT), Filter=pikepdf.Name.FlateDecode)
    with pdf.open_metadata(set_pikepdf_as_editor=False) as xmp:
        xmp["dc:description"] = "xmp-secret-description"
    pdf.docinfo["/Title"] = TITLE
    pdf.docinfo["/Author"] = pikepdf.String(b"\x00\x01binary-author")
    signature = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Sig,
            Filter=pikepdf.Name("/Adobe.PPKLite"),
            ByteRange=pikepdf.Array([0, 10, 20, 30]),
            Contents=pikepdf.String(b"\x30\x82sigcontents"),
            Reason=pikepdf.String("sig-reason-secret"),
        )
    )
    annotation = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Text,
        Rect=[10, 10, 50, 50],
        Contents=pikepdf.String("annotation-secret"),
        NM=pdf.make_indirect(pikepdf.String("indirect-string-secret")),
        Kids=pikepdf.Array([pikepdf.Array([pikepdf.String("nested-secret")])]),
        V=signature,
    )
    page.obj.Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(annotation)]))
    return pdf


def test_strings_and_streams_are_encrypted_and_read_back_by_qpdf_and_poppler() -> None:
    data = encrypted(rich_pdf(), "user-pw", "owner-pw")
    for plaintext in (
        b"TOPSECRET",
        b"annotation-secret",
        b"nested-secret",
        b"indirect-string-secret",
        b"xmp-secret",
        b"binary-author",
        b"sig-reason-secret",
        b"Confidential",
    ):
        assert plaintext not in data, plaintext
    check = run_tool("qpdf", "--check", "--password=user-pw", pdf=data)
    assert check.returncode == 0 and "No syntax or stream encoding errors" in check.stdout, check.stdout + check.stderr
    shown = run_tool("qpdf", "--show-encryption", "--password=owner-pw", pdf=data).stdout
    assert (
        "R = 6" in shown and "stream encryption method: AESv3" in shown and "string encryption method: AESv3" in shown
    )
    assert "Supplied password is owner password" in shown
    info = run_tool("pdfinfo", "-upw", "user-pw", pdf=data).stdout
    assert re.search(r"PDF version:\s+1\.7", info) and re.search(rf"Title:\s+{TITLE}", info), info
    assert "TOPSECRET-CONTENT" in pdftotext(data, "-upw", "user-pw")
    assert run_tool("pdfinfo", pdf=data).returncode != 0

    with pikepdf.open(io.BytesIO(data), password="user-pw") as back:
        assert str(back.docinfo["/Title"]) == TITLE
        assert bytes(back.docinfo["/Author"]) == b"\x00\x01binary-author"
        annotation = back.pages[0].obj.Annots[0]
        assert str(annotation.Contents) == "annotation-secret"
        assert str(annotation.NM) == "indirect-string-secret"
        assert str(annotation.Kids[0][0]) == "nested-secret"
        assert str(annotation.V.Reason) == "sig-reason-secret"
        # As qpdf does: a signature's /Contents is written in clear, and read back as is.
        assert bytes(annotation.V.Contents) == b"\x30\x82sigcontents"
        assert back.pages[0].obj.Contents.read_bytes() == SECRET_TEXT
        assert "xmp-secret-description" in str(back.open_metadata())


@pytest.mark.parametrize("user", ["u", "pässwörd ✓", "x" * 200])
def test_both_passwords_recover_the_file_key_as_qpdf_computes_it(user: str) -> None:
    key = aes256.new_file_key()
    data = aes256.add_to_trailer(
        aes256.write_encrypted(pikepdf.open(io.BytesIO(text_pdf(["k"]))), key),
        aes256.encrypt_dictionary(key, user, "owner ☂", None),
    )
    for password in (user, "owner ☂"):
        with pikepdf.open(io.BytesIO(data), password=password) as back:
            assert back.encryption.encryption_key == key
            assert back.encryption.R == 6 and back.encryption.bits == 256
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(data), password="wrong")


def test_permission_bits_equal_qpdfs_for_every_combination() -> None:
    for allowed in itertools.product([True, False], repeat=len(encrypt.PERMISSIONS)):
        permissions = dict(zip(encrypt.PERMISSIONS, allowed, strict=True))
        out = io.BytesIO()
        pikepdf.new().save(out, encryption=encrypt.encryption("u", "o", permissions, "aes256"))
        with pikepdf.open(io.BytesIO(out.getvalue()), password="o") as by_qpdf:
            assert aes256.permission_value(permissions) == by_qpdf.encryption.P, permissions


def test_an_encrypted_source_is_decrypted_then_encrypted_once() -> None:
    source = io.BytesIO()
    text = pikepdf.open(io.BytesIO(text_pdf(["inner text"])))
    text.save(source, encryption=pikepdf.Encryption(owner="in", user="in", R=4))
    plan = pipeline.Plan(
        sources=[pipeline.SourcePdf(source.getvalue(), password="in")], encrypt=pipeline.Encryption("out")
    )
    data = pipeline.run(plan).data
    assert "inner text" in pdftotext_with_password(data, "out")
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(data), password="in")


def test_the_service_may_add_the_dictionary_itself() -> None:
    """The split the service uses: the sandbox writes with the caller's key and leaves the /Encrypt
    dictionary out; the caller computes it meanwhile and completes the trailer."""
    spec = pipeline.Encryption("u", file_key=aes256.new_file_key(), caller_adds_dictionary=True)
    plan = pipeline.Plan(
        sources=[pipeline.SourcePdf(text_pdf(["a"])), pipeline.SourcePdf(text_pdf(["b"]))], encrypt=spec
    )
    partial = pipeline.run(plan).data
    assert b"/Encrypt" not in partial
    assert spec.file_key is not None
    data = aes256.add_to_trailer(partial, aes256.encrypt_dictionary(spec.file_key, "u", None, None))
    assert re.findall(r"[ab]", pdftotext_with_password(data, "u").strip()) == ["a", "b"]
    assert run_tool("qpdf", "--check", "--password=u", pdf=data).returncode == 0


def pdftotext_with_password(data: bytes, password: str) -> str:
    return pdftotext(data, "-upw", password)


def test_qpdf_and_openssl_paths_give_the_same_text() -> None:
    source = text_pdf(["same words"])
    ours = pipeline.run(pipeline.Plan(sources=[pipeline.SourcePdf(source)], encrypt=pipeline.Encryption("p"))).data
    qpdfs = pipeline.run(
        pipeline.Plan(sources=[pipeline.SourcePdf(source)], encrypt=pipeline.Encryption("p", algorithm="aes128"))
    ).data
    assert pdftotext_with_password(ours, "p") == pdftotext_with_password(qpdfs, "p")
    assert pdftotext(source) == pdftotext_with_password(ours, "p")


def test_a_marked_compressed_source_is_encrypted_from_its_plaintext() -> None:
    # The TEST mark (and any watermark) turns each page into a form XObject whose data qpdf computes from the
    # page's content streams when it is read: it must be read before those become ciphertext. A compressed
    # source, as Chromium prints it, with a test key and a password used to fail: "stream inflate: incorrect
    # header check" (422 INVALID_PDF).
    source = pikepdf.open(io.BytesIO(text_pdf(["compressed-plaintext"])))
    packed = io.BytesIO()
    source.save(packed, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    plan = pipeline.Plan(
        sources=[pipeline.SourcePdf(packed.getvalue())], test_mode=True, encrypt=pipeline.Encryption("user-pw")
    )
    assert pipeline.openssl_aes256(plan)  # the path under test: aes256.write_encrypted, not qpdf's writer
    data = pipeline.run(plan).data
    check = run_tool("qpdf", "--check", "--password=user-pw", pdf=data)
    assert check.returncode == 0 and "No syntax or stream encoding errors" in check.stdout, check.stdout + check.stderr
    text = pdftotext(data, "-upw", "user-pw")
    assert "compressed-plaintext" in text
    assert Counter("TEST") <= Counter(text)  # the mark's rotated letters come out of poppler in no useful order
    assert b"compressed-plaintext" not in data
