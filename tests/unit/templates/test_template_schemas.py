"""Templates: what a PATCH may null, how a stored null reads back, compile limits at save time."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from pressroom.templates.schemas import TemplateOut, TemplateUpdate
from pressroom.templates.service import check_syntax
from pressroom.templating.handlebars import Limits, TemplateLimitExceeded


@pytest.mark.parametrize("field", ["name", "body", "css", "sample_data", "options"])
def test_a_field_a_template_always_has_cannot_be_nulled(field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TemplateUpdate.model_validate({field: None})
    assert caught.value.errors()[0]["loc"] == (field,)


def test_folder_and_external_id_can_be_cleared_and_omitted_fields_stay_unset() -> None:
    update = TemplateUpdate.model_validate({"folder_id": None, "external_id": None})
    assert update.model_dump(exclude_unset=True) == {"folder_id": None, "external_id": None}
    assert TemplateUpdate.model_validate({}).model_dump(exclude_unset=True) == {}


def test_a_stored_null_reads_back_as_an_empty_object() -> None:
    now = datetime.now(UTC)
    row = SimpleNamespace(
        id="tpl_1", kind="html", name="n", body="b", css="", sample_data=None, options=None,
        folder_id=None, external_id=None, created_at=now, updated_at=now,
    )  # fmt: skip
    out = TemplateOut.model_validate(row)
    assert out.sample_data == {} and out.options == {}


def test_save_time_compile_uses_the_service_limits_for_header_and_footer_too() -> None:
    check_syntax("{{a}}", {"header_html": "{{b}}"}, Limits(max_tags=1))
    with pytest.raises(TemplateLimitExceeded):
        check_syntax("{{a}}", {"footer_html": "{{a}}{{b}}"}, Limits(max_tags=1))
