"""JSON columns read back rows written before the API refused lone surrogates (issue #12, item 6)."""

from __future__ import annotations

import json

from pressroom.db.session import read_json


def test_lone_surrogates_read_as_replacement_characters() -> None:
    stored = '{"k": "a\\ud800b", "\\udfff": ["\\udc00"], "n": 1}'  # what json.dumps wrote for such a value
    value = read_json(stored)
    assert value == {"k": "a\ufffdb", "\ufffd": ["\ufffd"], "n": 1}
    json.dumps(value, ensure_ascii=False).encode("utf-8")  # encodable: the row no longer fails a response


def test_pairs_and_ordinary_rows_are_unchanged() -> None:
    assert read_json('{"emoji": "\\ud83d\\ude00"}') == {"emoji": "\U0001f600"}
    assert read_json(b'{"a": [1, "x"]}') == {"a": [1, "x"]}
    assert read_json("null") is None
