from __future__ import annotations

from pressroom.core import errors


def test_every_error_carries_status_and_code() -> None:
    error = errors.TemplateNotFound()
    assert (error.status, error.code) == (404, "TEMPLATE_NOT_FOUND")
    assert error.to_dict() == {"code": "TEMPLATE_NOT_FOUND", "message": "Template not found", "details": None}


def test_rebuild_restores_the_status_of_a_stored_code() -> None:
    rebuilt = errors.rebuild("RENDER_TIMEOUT", "took too long", {"timeout_s": 2})
    assert isinstance(rebuilt, errors.RenderTimeout)
    assert (rebuilt.status, rebuilt.message, rebuilt.details) == (504, "took too long", {"timeout_s": 2})
    assert errors.rebuild("QUEUE_FULL", "busy").status == 429


def test_rebuild_of_an_unknown_code_is_a_500_keeping_the_code() -> None:
    rebuilt = errors.rebuild("SOMETHING_NEW", "?")
    assert (rebuilt.status, rebuilt.code) == (500, "SOMETHING_NEW")


def test_codes_are_unique_across_the_tree() -> None:
    # Classes that define their own code (subclasses refining a class without a new code are fine).
    owners = [cls for cls in errors._subclasses(errors.PressroomError)[1:] if "code" in vars(cls)]
    codes = [cls.code for cls in owners]
    assert len(codes) == len(set(codes))
