"""PAdES B-T: signatures timestamped by an RFC 3161 authority on a loopback port (pyHanko's TSA
implementation behind http.server), checked by pdfsig, OpenSSL and pyHanko; every TSA failure is a 502
TIMESTAMP_FAILED and the sandbox lives on."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest

from pressroom.core.errors import TimestampFailed
from pressroom.pdf import pipeline
from pressroom.pdf.safeopen import Sandbox
from pressroom.pdf.sign import SignRequest
from tests.pdf_fixtures import text_pdf
from tests.pdf_support import (
    TimestampAuthority,
    openssl_signature_dump,
    pyhanko_timestamp_verdict,
    run_tool,
    self_signed_pkcs12,
)
from tests.support import free_port

TOKEN_ATTRIBUTE = "id-smime-aa-timeStampToken (1.2.840.113549.1.9.16.2.14)"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(workers=1, memory_limit_mb=512, timeout_s=30)
    box.start()
    yield box
    box.close()


@pytest.fixture
def tsa() -> Iterator[TimestampAuthority]:
    authority = TimestampAuthority().start()
    yield authority
    authority.stop()


def signed(sandbox: Sandbox, p12: bytes, timestamp_url: str | None) -> bytes:
    request = SignRequest(pkcs12=p12, passphrase=b"secret", reason="B-T", timestamp_url=timestamp_url)
    plan = pipeline.Plan(sources=[pipeline.SourcePdf(text_pdf(["timestamped"]))], sign=request)
    return sandbox.run(pipeline.run, plan).data


def test_signature_carries_a_valid_timestamp_token(sandbox: Sandbox, tsa: TimestampAuthority) -> None:
    p12, cert = self_signed_pkcs12()
    before = datetime.datetime.now(datetime.UTC)
    data = signed(sandbox, p12, tsa.url)
    report = run_tool("pdfsig", pdf=data).stdout
    assert "Signature Validation: Signature is Valid." in report
    assert "Signature Type: ETSI.CAdES.detached" in report
    cms = openssl_signature_dump(data)
    assert TOKEN_ATTRIBUTE in cms and "Pressroom Test TSA" in cms  # the token, issued by our TSA
    verdict = pyhanko_timestamp_verdict(data, cert, tsa.cert_pem)
    assert verdict["signature_valid"] and verdict["has_token"] and verdict["token_valid"]
    assert verdict["unsigned_attrs"] == ["signature_time_stamp_token"]
    assert before - datetime.timedelta(seconds=5) <= verdict["token_time"] <= datetime.datetime.now(datetime.UTC)
    assert tsa.requests >= 1

    untimed = signed(sandbox, p12, None)  # no TSA configured: B-B, no token
    assert TOKEN_ATTRIBUTE not in openssl_signature_dump(untimed)
    assert pyhanko_timestamp_verdict(untimed, cert, tsa.cert_pem)["has_token"] is False


@pytest.mark.parametrize("mode", ["garbage", "error", "unreachable"])
def test_a_failing_authority_is_a_502_and_the_sandbox_lives_on(
    sandbox: Sandbox, tsa: TimestampAuthority, mode: str
) -> None:
    p12, _cert = self_signed_pkcs12()
    url = f"http://127.0.0.1:{free_port()}/tsa" if mode == "unreachable" else tsa.url
    tsa.mode = mode
    with pytest.raises(TimestampFailed) as failed:
        signed(sandbox, p12, url)
    assert failed.value.status == 502 and failed.value.code == "TIMESTAMP_FAILED"
    assert failed.value.details["timestamp_url"] == url and failed.value.details["reason"]
    tsa.mode = "ok"
    assert "Signature is Valid." in run_tool("pdfsig", pdf=signed(sandbox, p12, tsa.url)).stdout
