"""AES-256 (PDF 2.0 standard security handler, R6 / AESV3) encryption with OpenSSL, around qpdf's writer.

Why not ``Pdf.save(encryption=...)``: the qpdf bundled in pikepdf's wheels has only its "native" crypto
provider (portable C++ AES and SHA-2, no AES-NI). Encrypting a 1.4 MB merge that way costs ~20 ms of a
~35 ms operation: ~11 ms for the R6 password hashing (algorithm 2.B: 64+ rounds of AES-128 and SHA-2 over
kilobytes, four times) and ~7 ms per MB for AES-256 on the data. ``cryptography`` (OpenSSL, AES-NI) does
the same work in well under a millisecond, so this module encrypts with it and lets qpdf write the file:

1. every string and stream of the document is encrypted in memory with the file key (AESV3 uses the file
   key itself for every object - no per-object key - so qpdf's renumbering on write does not matter);
2. qpdf writes the objects without object streams (strings inside an object stream are not encrypted on
   their own), without decoding or recompressing anything, with a classic xref table;
3. the ``/Encrypt`` dictionary goes into the trailer, which follows the xref table, so no offset moves.

Only R6 is done here; AES-128 and RC4 derive a key per object number, which qpdf assigns while writing,
so they stay with qpdf (:func:`pressroom.pdf.encrypt.encryption`). Passwords are taken as qpdf takes them
(UTF-8, first 127 bytes), so both paths accept the same passwords.
"""

from __future__ import annotations

import hashlib
import io
import os
import re

import pikepdf
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from pressroom.pdf.encrypt import PERMISSIONS

_HASHES = (hashlib.sha256, hashlib.sha384, hashlib.sha512)
_SIGNATURE_TYPES = ("/Sig", "/DocTimeStamp")

# Permission bits of /P (ISO 32000-2 table 22, 1-based bit numbers) for each of our permission names. Bit 10
# ("extracting", for accessibility) is not there: PDF 2.0 deprecates it and qpdf sets it for every AES
# revision, so it stays set here too.
_PERMISSION_BITS = {
    "printing": (3, 12),
    "modifying": (4, 11),
    "copying": (5,),
    "annotating": (6,),
    "filling_forms": (9,),
}


def permission_value(permissions: dict[str, bool] | None = None) -> int:
    """The signed 32-bit /P value, bit for bit what qpdf writes for R6: bits 1-2 clear, the others set
    unless a permission is refused."""
    allowed = {name: True for name in PERMISSIONS} | dict(permissions or {})
    value = 0xFFFFFFFF & ~0b11
    for name, bits in _PERMISSION_BITS.items():
        if not allowed[name]:
            for bit in bits:
                value &= ~(1 << (bit - 1))
    return value - (1 << 32) if value & 0x80000000 else value


def _password(text: str) -> bytes:
    return text.encode("utf-8")[:127]


def _hash_2b(password: bytes, salt: bytes, user_key: bytes = b"") -> bytes:
    """ISO 32000-2 algorithm 2.B (the R6 password hash)."""
    k = hashlib.sha256(password + salt + user_key).digest()
    rounds = 0
    while True:
        block = (password + k + user_key) * 64
        encryptor = Cipher(algorithms.AES128(k[:16]), modes.CBC(k[16:32])).encryptor()
        e = encryptor.update(block) + encryptor.finalize()
        k = _HASHES[sum(e[:16]) % 3](e).digest()  # the first 16 bytes as a big number, mod 3
        rounds += 1
        if rounds >= 64 and e[-1] <= rounds - 32:
            return k[:32]


def _aes256_no_iv(key: bytes, data: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES256(key), modes.CBC(bytes(16))).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def encrypt_dictionary(
    file_key: bytes, user_password: str, owner_password: str | None, permissions: dict[str, bool] | None
) -> bytes:
    """The serialized /Encrypt dictionary (algorithms 8, 9 and 10 of ISO 32000-2); the owner password
    defaults to the user password, as in :func:`pressroom.pdf.encrypt.encryption`."""
    p_value = permission_value(permissions)
    user, owner = _password(user_password), _password(owner_password or user_password)
    u_validation, u_key, o_validation, o_key = (os.urandom(8) for _ in range(4))
    u_entry = _hash_2b(user, u_validation) + u_validation + u_key
    ue_entry = _aes256_no_iv(_hash_2b(user, u_key), file_key)
    o_entry = _hash_2b(owner, o_validation, u_entry) + o_validation + o_key
    oe_entry = _aes256_no_iv(_hash_2b(owner, o_key, u_entry), file_key)
    perms_block = (p_value & 0xFFFFFFFF).to_bytes(4, "little") + b"\xff\xff\xff\xffTadb" + os.urandom(4)
    ecb = Cipher(algorithms.AES256(file_key), modes.ECB()).encryptor()
    perms = ecb.update(perms_block) + ecb.finalize()
    return (
        b"<< /Filter /Standard /V 5 /R 6 /Length 256 /StmF /StdCF /StrF /StdCF"
        b" /CF << /StdCF << /AuthEvent /DocOpen /CFM /AESV3 /Length 32 >> >>"
        b" /O <" + o_entry.hex().encode() + b"> /U <" + u_entry.hex().encode() + b">"
        b" /OE <" + oe_entry.hex().encode() + b"> /UE <" + ue_entry.hex().encode() + b">"
        b" /P " + str(p_value).encode() + b" /Perms <" + perms.hex().encode() + b"> /EncryptMetadata true >>"
    )


class _Encryptor:
    def __init__(self, file_key: bytes) -> None:
        self.cipher = algorithms.AES256(file_key)

    def bytes(self, data: bytes) -> bytes:
        """AESV3: a random 16-byte IV, then AES-256-CBC of the PKCS#7-padded data."""
        iv = os.urandom(16)
        pad = 16 - len(data) % 16
        encryptor = Cipher(self.cipher, modes.CBC(iv)).encryptor()
        return iv + encryptor.update(data + bytes((pad,)) * pad) + encryptor.finalize()

    def strings(self, obj: pikepdf.Object) -> None:
        """Encrypt, in place, every string directly inside ``obj`` (a dictionary or an array)."""
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            keep_contents = obj.get("/Type") in _SIGNATURE_TYPES and "/ByteRange" in obj  # as qpdf does
            for key in list(obj.keys()):
                value = obj.get(key)
                if not isinstance(value, pikepdf.Object) or value.is_indirect or (keep_contents and key == "/Contents"):
                    continue
                if isinstance(value, pikepdf.String):
                    obj[key] = pikepdf.String(self.bytes(bytes(value)))
                elif isinstance(value, pikepdf.Dictionary | pikepdf.Array):
                    self.strings(value)
        elif isinstance(obj, pikepdf.Array):
            for index, value in enumerate(obj):
                if not isinstance(value, pikepdf.Object) or value.is_indirect:
                    continue
                if isinstance(value, pikepdf.String):
                    obj[index] = pikepdf.String(self.bytes(bytes(value)))
                elif isinstance(value, pikepdf.Dictionary | pikepdf.Array):
                    self.strings(value)


# A string token in an unparsed object: "(" starts a literal string, a lone "<" (not "<<") a hex string.
# Names cannot hide either character (qpdf writes them as #28 / #3c), so no match means no string to encrypt.
_HAS_STRING = re.compile(rb"\(|(?<!<)<(?!<)")


def _has_strings(obj: pikepdf.Object) -> bool:
    text = obj.stream_dict.unparse() if isinstance(obj, pikepdf.Stream) else obj.unparse(resolved=True)
    return _HAS_STRING.search(text) is not None


def new_file_key() -> bytes:
    return os.urandom(32)


def write_encrypted(pdf: pikepdf.Pdf, file_key: bytes) -> bytes:
    """``pdf`` written with every string and stream encrypted under ``file_key``, still without its /Encrypt
    dictionary (:func:`add_to_trailer` adds it). ``pdf`` is consumed: its strings and streams are ciphertext
    afterwards."""
    encryptor = _Encryptor(file_key)
    # Every stream's data is read before any is replaced: some are computed from others when read (a page
    # turned into a form XObject by the TEST mark or a watermark is its content streams, decoded and joined),
    # and must be computed from the plaintext, not from a neighbour already turned into ciphertext.
    raw_data = {obj.objgen: obj.read_raw_bytes() for obj in pdf.objects if isinstance(obj, pikepdf.Stream)}
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Stream):
            # Every stream, whatever its /Type: qpdf writes its own xref table and (here) no object streams.
            raw = raw_data.pop(obj.objgen)
            # The filters stay as they are (the data is still encoded by them, then encrypted).
            filters, parms = obj.get("/Filter"), obj.get("/DecodeParms")
            obj.write(encryptor.bytes(raw), filter=filters, decode_parms=parms, type_check=False)  # type: ignore[arg-type]
            if _has_strings(obj):
                encryptor.strings(obj)
        elif isinstance(obj, pikepdf.Dictionary | pikepdf.Array):
            if _has_strings(obj):
                encryptor.strings(obj)
        elif isinstance(obj, pikepdf.String):  # an indirect string object
            pdf._replace_object(obj.objgen, pikepdf.String(encryptor.bytes(bytes(obj))))
    for key in ("/Info",):  # a direct /Info in the trailer (qpdf rewrites /ID and /Encrypt itself)
        value = pdf.trailer.get(key)
        if isinstance(value, pikepdf.Dictionary) and not value.is_indirect:
            encryptor.strings(value)
    out = io.BytesIO()
    pdf.save(
        out,
        encryption=False,  # never qpdf's own (an encrypted source would otherwise keep its encryption)
        min_version=("1.7", 8),  # R6 is PDF 2.0 / Adobe extension level 8, as qpdf declares it
        fix_metadata_version=False,  # the XMP stream is ciphertext by now: nothing may read it
        compress_streams=False,
        stream_decode_level=pikepdf.StreamDecodeLevel.none,
        object_stream_mode=pikepdf.ObjectStreamMode.disable,
        preserve_pdfa=False,
    )
    return out.getvalue()


_TAIL = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
_XREF_HEAD = re.compile(rb"xref\r?\n0 (\d+)\r?\n")
_TRAILER = re.compile(rb"trailer\s*<<(.*)>>\s*startxref", re.DOTALL)


def add_to_trailer(data: bytes, encrypt: bytes) -> bytes:
    """Append the /Encrypt dictionary as a new object to the file :func:`write_encrypted` wrote, and point the
    trailer at it. Only the tail is rewritten: the object goes where the xref table was, the table (one
    more entry) and the trailer follow it, so no earlier offset moves. An indirect /Encrypt, as qpdf
    writes it, is what every reader and pyHanko's incremental writer (signing) expect."""
    tail = _TAIL.search(data, max(0, len(data) - 64))
    head = _XREF_HEAD.match(data, int(tail.group(1))) if tail else None
    if tail is None or head is None:
        raise RuntimeError("qpdf wrote no classic xref table")  # object streams are disabled: cannot happen
    xref_at, size = head.start(), int(head.group(1))
    entries = data[head.end() : head.end() + 20 * size]
    trailer = _TRAILER.match(data, head.end() + 20 * size)
    if trailer is None or len(entries) != 20 * size:
        raise RuntimeError("qpdf wrote an unexpected xref table")
    keys = re.sub(rb"/Size\s+\d+", b"/Size %d" % (size + 1), trailer.group(1), count=1)
    obj = b"%d 0 obj\n%s\nendobj\n" % (size, encrypt)
    table = b"xref\n0 %d\n%s%010d 00000 n \n" % (size + 1, entries, xref_at)
    new_tail = b"trailer << /Encrypt %d 0 R%s>>\nstartxref\n%d\n%%%%EOF\n" % (size, keys, xref_at + len(obj))
    return b"".join((memoryview(data)[:xref_at], obj, table, new_tail))  # one copy of the (large) body
