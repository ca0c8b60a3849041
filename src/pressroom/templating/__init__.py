"""Templating: the Handlebars engine and Pressroom's document helpers."""

from pressroom.templating.handlebars import (
    SafeString,
    Template,
    TemplateRuntimeError,
    TemplateSyntaxError,
    compile,
    render,
)

__all__ = ["SafeString", "Template", "TemplateRuntimeError", "TemplateSyntaxError", "compile", "render"]
