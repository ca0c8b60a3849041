"""encrypt: password protection and permissions, written by qpdf at save time."""

from __future__ import annotations

from typing import Literal

import pikepdf

Algorithm = Literal["aes256", "aes128", "rc4"]

# Bytedoc's permission names (plus filling_forms/extracting) -> qpdf's permission bits.
PERMISSIONS = ("printing", "modifying", "copying", "annotating", "filling_forms", "extracting")


def encryption(
    user_password: str,
    owner_password: str | None = None,
    permissions: dict[str, bool] | None = None,
    algorithm: Algorithm = "aes256",
) -> pikepdf.Encryption:
    """The ``encryption=`` argument of ``Pdf.save``: R6/AESv3, R4/AESv2 or R3/RC4-128."""
    allowed = {name: True for name in PERMISSIONS} | dict(permissions or {})
    allow = pikepdf.Permissions(
        accessibility=allowed["extracting"],
        extract=allowed["copying"],
        modify_annotation=allowed["annotating"],
        modify_assembly=allowed["modifying"],
        modify_form=allowed["filling_forms"],
        modify_other=allowed["modifying"],
        print_lowres=allowed["printing"],
        print_highres=allowed["printing"],
    )
    owner = owner_password or user_password
    if algorithm == "aes256":
        return pikepdf.Encryption(owner=owner, user=user_password, R=6, allow=allow, aes=True, metadata=True)
    if algorithm == "aes128":
        return pikepdf.Encryption(owner=owner, user=user_password, R=4, allow=allow, aes=True, metadata=True)
    return pikepdf.Encryption(owner=owner, user=user_password, R=3, allow=allow, aes=False, metadata=False)
