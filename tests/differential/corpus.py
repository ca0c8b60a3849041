"""The differential corpus: (template, data, partials, helpers) cases rendered by handlebars.js and Pressroom.

Built programmatically (values x constructs, whitespace/standalone combinations, partial indentation) plus
hand-written tricky cases. Every case must be reproducible by stock handlebars.js 4.7.8: helpers are limited
to the built-ins, or to the JavaScript twins of document helpers defined in ``runner.js``.
"""

from __future__ import annotations

import itertools
from typing import Any

Case = dict[str, Any]

# Values that exercise JavaScript's printing and truthiness rules.
VALUES: list[tuple[str, Any]] = [
    ("zero", 0),
    ("one", 1),
    ("neg", -1),
    ("one_float", 1.0),
    ("frac", 1.5),
    ("neg_zero", -0.0),
    ("e21", 1e21),
    ("e20", 1e20),
    ("tiny", 1e-7),
    ("micro", 0.000001),
    ("point3", 0.1 + 0.2),
    ("bigint", 123456789012345678901234),
    ("unsafe_int", 2**53 + 1),
    ("huge", 1.7976931348623157e308),
    ("denormal", 5e-324),
    ("empty_str", ""),
    ("html", "a&b<c>\"'`=d"),
    ("plain", "plain text"),
    ("unicode", "héllo wörld ✓ 😀"),
    ("true", True),
    ("false", False),
    ("null", None),
    ("empty_list", []),
    ("list", [1, 2, 3]),
    ("nested_list", [[1, [2, None]], None, "x", True, {"a": 1}]),
    ("empty_obj", {}),
    ("obj", {"b": 1, "a": "<x>", "2": "two", "1": "one"}),
]

FORMS: list[tuple[str, str]] = [
    ("escaped", "[{{v}}]"),
    ("triple", "[{{{v}}}]"),
    ("amp", "[{{& v}}]"),
    ("if", "{{#if v}}T{{else}}F{{/if}}"),
    ("unless", "{{#unless v}}T{{else}}F{{/unless}}"),
    ("if_zero", "{{#if v includeZero=true}}T{{else}}F{{/if}}"),
    ("with", "{{#with v}}W[{{this}}]{{else}}E{{/with}}"),
    ("each", "{{#each v}}[{{@index}}:{{@key}}:{{this}}:{{@first}}:{{@last}}]{{else}}E{{/each}}"),
    ("section", "{{#v}}S[{{this}}|{{.}}]{{else}}N{{/v}}"),
    ("inverted", "{{^v}}I{{else}}NI{{/v}}"),
    ("lookup", "[{{lookup this 'v'}}]"),
    ("length", "[{{v.length}}]"),
    ("index0", "[{{v.[0]}}]"),
    ("in_list", "[{{list}}]"),
]


def value_cases() -> list[Case]:
    cases: list[Case] = []
    for (vname, value), (fname, template) in itertools.product(VALUES, FORMS):
        data: dict[str, Any] = {"v": value, "list": [value, value]}
        cases.append({"id": f"value:{vname}:{fname}", "template": template, "data": data})
    return cases


def whitespace_cases() -> list[Case]:
    cases: list[Case] = []
    before = ["", "  ", "a\n", "a\n  ", "\n\t"]
    after = ["", "\n", "\r\n", "  \n", " x\n"]
    opens = [
        ("if", "{{#if t}}", "{{else}}", "{{/if}}"),
        ("if_tilde", "{{~#if t~}}", "{{~else~}}", "{{~/if~}}"),
        ("each", "{{#each xs}}", "{{^}}", "{{/each}}"),
        ("inverse", "{{^if t}}", "{{else}}", "{{/if}}"),
    ]
    combos = itertools.product(opens, before, after)
    for n, ((oname, open_, else_, close), pre, post) in enumerate(combos, start=1):
        template = f"{pre}{open_}{post}body{{{{this}}}}{post}{pre}{else_}{post}alt{post}{pre}{close}{post}end"
        cases.append(
            {
                "id": f"ws:{oname}:{n}",
                "template": template,
                "data": {"t": n % 2 == 0, "xs": ["x", "y"] if n % 3 else []},
            }
        )
    # standalone comments / partials / mustaches on their own lines
    singles = ["{{! c }}", "{{!-- c --}}", "{{> p}}", "{{x}}", "{{~x~}}", "{{~! c ~}}", "{{~> p~}}"]
    for i, (tag, pre, post) in enumerate(itertools.product(singles, ["", "  ", "a\n ", "\n"], ["\n", "", "b", "\r\n"])):
        cases.append(
            {
                "id": f"ws:single:{i}",
                "template": f"<{pre}{tag}{post}>|{pre}{tag}{post}",
                "data": {"x": "X"},
                "partials": {"p": "P1\nP2\n"},
            }
        )
    return cases


def partial_cases() -> list[Case]:
    cases: list[Case] = []
    partial_bodies = ["L1\nL2\n", "L1\nL2", "{{x}}\n", "\n", "", "{{#each xs}}\n- {{this}}\n{{/each}}\n"]
    contexts = ["  {{> p}}\n", "\t{{> p}}\n", "x {{> p}}\n", "  {{> p}}", "{{#each xs}}\n  {{> p}}\n{{/each}}"]
    for i, (body, ctx) in enumerate(itertools.product(partial_bodies, contexts)):
        cases.append(
            {
                "id": f"partial:indent:{i}",
                "template": f"begin\n{ctx}end",
                "data": {"x": "multi\nline", "xs": ["a", "b"]},
                "partials": {"p": body},
            }
        )
    return cases


H = "helpers"

HAND: list[Case] = [
    # --- escaping -------------------------------------------------------------------------------------------
    {"id": "esc:all", "template": "{{s}}|{{{s}}}|{{&s}}", "data": {"s": "&<>\"'`= /\\"}},
    {"id": "esc:backslash", "template": "\\{{x}} {{x}}", "data": {"x": 1}},
    {"id": "esc:double_backslash", "template": "\\\\{{x}}", "data": {"x": 1}},
    {"id": "esc:backslash_mid", "template": "a\\{{x}}b\\{{y}}c{{x}}", "data": {"x": 1, "y": 2}},
    {"id": "esc:backslash_triple", "template": "\\{{{x}}}", "data": {"x": 1}},
    {"id": "esc:backslash_end", "template": "a\\", "data": {}},
    {"id": "esc:escaped_then_standalone", "template": "\\{{#if}}\n{{#if t}}\nx\n{{/if}}\n", "data": {"t": 1}},
    {"id": "esc:safe_nested", "template": "{{a.b}}", "data": {"a": {"b": "<b>"}}},
    # --- comments ---------------------------------------------------------------------------------------------
    {"id": "comment:short", "template": "a{{! x }}b", "data": {}},
    {"id": "comment:long", "template": "a{{!-- x }} y --}}b", "data": {}},
    {"id": "comment:empty_long", "template": "a{{!--}}b", "data": {}},
    {"id": "comment:tilde", "template": "a  {{~! x ~}}  b", "data": {}},
    {"id": "comment:long_tilde", "template": "a \n {{~!-- x --~}} \n b", "data": {}},
    {"id": "comment:unterminated", "template": "a{{!-- x }}", "data": {}},
    {"id": "comment:standalone", "template": "a\n  {{! c }}\nb\n", "data": {}},
    {"id": "comment:multiline", "template": "a\n{{!\n c\n}}\nb", "data": {}},
    # --- raw blocks -------------------------------------------------------------------------------------------
    {"id": "raw:basic", "template": "{{{{raw}}}} {{x}} {{{{/raw}}}}", "data": {"x": 1}, H: ["raw"]},
    {"id": "raw:nested", "template": "{{{{raw}}}}{{{{a}}}}{{x}}{{{{/a}}}}{{{{/raw}}}}", "data": {}, H: ["raw"]},
    {"id": "raw:empty", "template": "{{{{raw}}}}{{{{/raw}}}}", "data": {}, H: ["raw"]},
    {"id": "raw:mismatch", "template": "{{{{raw}}}}x{{{{/rew}}}}", "data": {}, H: ["raw"]},
    {"id": "raw:standalone", "template": "a\n{{{{raw}}}}\n {{x}}\n{{{{/raw}}}}\nb", "data": {}, H: ["raw"]},
    {"id": "raw:unclosed", "template": "{{{{raw}}}} {{x}}", "data": {}, H: ["raw"]},
    # --- paths ------------------------------------------------------------------------------------------------
    {"id": "path:dot", "template": "{{a.b.c}}|{{a/b/c}}", "data": {"a": {"b": {"c": "deep"}}}},
    {"id": "path:this", "template": "{{this.a}}|{{./a}}|{{this}}", "data": {"a": 1}},
    {
        "id": "path:parent",
        "template": "{{#with a}}{{#with b}}{{../x}}|{{../../x}}|{{c}}{{/with}}{{/with}}",
        "data": {"x": "root", "a": {"x": "a", "b": {"c": "c"}}},
    },
    {
        "id": "path:parent_if",
        "template": "{{#with a}}{{#if t}}{{../x}}{{/if}}{{/with}}",
        "data": {"x": "root", "a": {"t": 1, "x": "a"}},
    },
    {
        "id": "path:parent_each",
        "template": "{{#each xs}}{{../title}}:{{this}} {{/each}}",
        "data": {"title": "T", "xs": [1, 2]},
    },
    {
        "id": "path:parent_nested_each",
        "template": "{{#each rows}}{{#each cells}}{{../name}}/{{../../t}}/{{this}};{{/each}}{{/each}}",
        "data": {"t": "T", "rows": [{"name": "r1", "cells": [1, 2]}, {"name": "r2", "cells": [3]}]},
    },
    {"id": "path:root", "template": "{{#each xs}}{{@root.title}}{{this}}{{/each}}", "data": {"title": "T", "xs": [1]}},
    {
        "id": "path:literal_segment",
        "template": "{{[a b]}}|{{x.[c d].e}}|{{[0]}}",
        "data": {"a b": 1, "x": {"c d": {"e": 2}}, "0": "zero"},
    },
    {"id": "path:literal_this", "template": "{{[this]}}|{{x.[this]}}", "data": {"this": "t", "x": {"this": "u"}}},
    {"id": "path:array_index", "template": "{{xs.[1]}}|{{xs.1.a}}|{{xs.length}}", "data": {"xs": [{"a": 1}, {"a": 2}]}},
    {"id": "path:array_index_bare", "template": "{{xs.1}}", "data": {"xs": [1, 2]}},
    {"id": "path:string_props", "template": "{{s.length}}|{{s.[1]}}", "data": {"s": "héllo"}},
    {"id": "path:missing", "template": "[{{a.b.c}}][{{nope}}][{{../x}}]", "data": {"a": None}},
    {"id": "path:through_number", "template": "[{{n.x}}][{{z.x}}]", "data": {"n": 5, "z": 0}},
    {"id": "path:invalid", "template": "{{a/../b}}", "data": {}},
    {"id": "path:this_dotdot", "template": "{{#with a}}{{this/../x}}{{/with}}", "data": {"x": 1, "a": {"y": 2}}},
    {"id": "path:dotdot_alone", "template": "{{#with a}}{{..}}|{{../this}}{{/with}}", "data": {"a": {"y": 2}}},
    {"id": "path:foothis", "template": "{{foothis}}|{{this_}}", "data": {"foothis": 1, "this_": 2}},
    {"id": "path:empty_literal", "template": '{{[]}}|{{""}}', "data": {"a": 1}},
    {"id": "path:string_literal_key", "template": "{{\"a b\"}}|{{'c'}}", "data": {"a b": 1, "c": 2}},
    {"id": "path:number_literal_key", "template": "{{1}}|{{1.50}}|{{-1}}", "data": {"1": "one", "1.5": "x", "-1": "m"}},
    {
        "id": "path:bool_literal_key",
        "template": "{{true}}|{{false}}|{{null}}|{{undefined}}",
        "data": {"true": "T", "false": "F", "null": "N", "undefined": "U"},
    },
    {"id": "path:dot_param", "template": "{{#each xs}}{{lookup . 'a'}}{{/each}}", "data": {"xs": [{"a": 1}]}},
    {
        "id": "path:key_order",
        "template": "{{#each o}}{{@key}}={{this}};{{/each}}",
        "data": {"o": {"b": 1, "10": 2, "a": 3, "2": 4, "01": 5, "-1": 6, "4294967295": 7, "4294967294": 8}},
    },
    {
        "id": "path:proto_names",
        "template": "[{{constructor}}][{{toString}}][{{hasOwnProperty}}][{{__proto__}}][{{valueOf}}]",
        "data": {},
    },
    {
        "id": "path:proto_lookup",
        "template": "[{{lookup this 'constructor'}}][{{lookup xs 'map'}}][{{xs.constructor}}]",
        "data": {"xs": [1]},
    },
    # --- data variables ---------------------------------------------------------------------------------------
    {
        "id": "data:index_key",
        "template": "{{#each o}}{{@index}}{{@key}}{{@first}}{{@last}} {{/each}}",
        "data": {"o": {"a": 1, "b": 2, "c": 3}},
    },
    {
        "id": "data:parent_index",
        "template": "{{#each a}}{{#each b}}{{@../index}}.{{@index}}/{{@../key}} {{/each}}{{/each}}",
        "data": {"a": [{"b": [1, 2]}, {"b": [3]}]},
    },
    {
        "id": "data:root_falsy_chain",
        "template": "[{{@root.a.b}}][{{@root.f.b}}][{{@root.s.b}}]",
        "data": {"a": 0, "f": False, "s": ""},
    },
    {"id": "data:missing", "template": "[{{@foo}}][{{@index}}][{{@root.nope.x}}]", "data": {}},
    {
        "id": "data:first_last_if",
        "template": "{{#each xs}}{{#if @first}}<{{/if}}{{this}}"
        "{{#unless @last}},{{/unless}}{{#if @last}}>{{/if}}{{/each}}",
        "data": {"xs": [1, 2, 3]},
    },
    {
        "id": "data:index_in_with",
        "template": "{{#each xs}}{{#with this}}{{@index}}{{/with}}{{/each}}",
        "data": {"xs": [{"a": 1}, {"a": 2}]},
    },
    # --- if / unless / else chains ----------------------------------------------------------------------------
    {"id": "if:chain", "template": "{{#if a}}A{{else if b}}B{{else if c}}C{{else}}D{{/if}}", "data": {"c": 1}},
    {"id": "if:chain_none", "template": "{{#if a}}A{{else if b}}B{{/if}}", "data": {}},
    {"id": "if:chain_unless", "template": "{{#if a}}A{{else unless b}}notB{{else}}B{{/if}}", "data": {"b": 0}},
    {
        "id": "if:chain_each",
        "template": "{{#if a}}A{{else each xs}}{{this}}{{else}}none{{/if}}",
        "data": {"xs": [1, 2]},
    },
    {"id": "if:caret_else", "template": "{{#if a}}A{{^}}not{{/if}}", "data": {"a": False}},
    {"id": "if:no_arg", "template": "{{#if}}x{{/if}}", "data": {}},
    {"id": "if:two_args", "template": "{{#if a b}}x{{/if}}", "data": {"a": 1}},
    {"id": "if:inline_if", "template": "{{if a}}", "data": {"a": 1}},
    {"id": "if:empty_obj_truthy", "template": "{{#if o}}T{{else}}F{{/if}}", "data": {"o": {}}},
    {"id": "if:include_zero_false", "template": "{{#if z includeZero=false}}T{{else}}F{{/if}}", "data": {"z": 0}},
    {
        "id": "if:unless_include_zero",
        "template": "{{#unless z includeZero=true}}T{{else}}F{{/unless}}",
        "data": {"z": 0},
    },
    {
        "id": "if:literal",
        "template": "{{#if true}}T{{/if}}{{#if 0}}Z{{/if}}{{#if 'x'}}S{{/if}}{{#if null}}N{{/if}}",
        "data": {},
    },
    {"id": "if:chain_ws", "template": "{{#if a}}\nA\n{{else if b}}\nB\n{{else}}\nC\n{{/if}}\n", "data": {"b": 1}},
    {
        "id": "if:chain_tilde",
        "template": "{{#if a ~}}  A  {{~ else if b ~}}  B  {{~else~}}  C  {{~/if}}",
        "data": {"b": 1},
    },
    # --- each ---------------------------------------------------------------------------------------------------
    {
        "id": "each:block_params",
        "template": "{{#each xs as |x i|}}{{i}}={{x.n}};{{/each}}",
        "data": {"xs": [{"n": "a"}, {"n": "b"}]},
    },
    {
        "id": "each:block_params_obj",
        "template": "{{#each o as |v k|}}{{k}}={{v}};{{/each}}",
        "data": {"o": {"a": 1, "b": 2}},
    },
    {
        "id": "each:block_params_nested",
        "template": "{{#each rows as |row r|}}{{#each row as |cell c|}}"
        "{{r}}{{c}}{{cell}}{{row.length}} {{/each}}{{/each}}",
        "data": {"rows": [[1, 2], [3]]},
    },
    {
        "id": "each:block_param_shadow",
        "template": "{{#each xs as |name|}}{{name}}{{this.name}}{{/each}}",
        "data": {"xs": [{"name": "inner"}], "name": "outer"},
    },
    {
        "id": "each:block_param_in_if",
        "template": "{{#each xs as |x|}}{{#if x}}{{x}}{{else}}-{{/if}}{{/each}}",
        "data": {"xs": [1, 0, 2]},
    },
    {"id": "each:else_empty_obj", "template": "{{#each o}}x{{else}}empty{{/each}}", "data": {"o": {}}},
    {"id": "each:string", "template": "{{#each s}}x{{else}}no{{/each}}", "data": {"s": "abc"}},
    {"id": "each:number", "template": "{{#each n}}x{{else}}no{{/each}}", "data": {"n": 3}},
    {"id": "each:null_items", "template": "{{#each xs}}[{{this}}]{{/each}}", "data": {"xs": [None, 0, False, ""]}},
    {
        "id": "each:null_items_if",
        "template": "{{#each xs}}{{#if true}}[{{this}}]{{/if}}{{/each}}",
        "data": {"xs": [None, 1]},
    },
    {
        "id": "each:nested_arrays",
        "template": "{{#each m}}{{#each this}}{{this}}{{/each}};{{/each}}",
        "data": {"m": [[1, 2], [3, 4]]},
    },
    {"id": "each:no_arg", "template": "{{#each}}x{{/each}}", "data": {}},
    {
        "id": "each:with_this_parent",
        "template": "{{#each xs}}{{#with ../cfg}}{{sep}}{{/with}}{{this}}{{/each}}",
        "data": {"xs": [1, 2], "cfg": {"sep": "-"}},
    },
    {
        "id": "each:this_equals_parent",
        "template": "{{#each xs}}{{#with this}}{{../x}}{{/with}}{{/each}}",
        "data": {"x": "root", "xs": [{"x": "a"}]},
    },
    {
        "id": "each:primitive_depth",
        "template": "{{#each xs}}{{#each ../ys}}{{../this}}{{this}},{{/each}}{{/each}}",
        "data": {"xs": [1, 1], "ys": [1, "1"]},
    },
    # --- with -----------------------------------------------------------------------------------------------------
    {"id": "with:block_param", "template": "{{#with a as |x|}}{{x.b}}{{b}}{{/with}}", "data": {"a": {"b": 1}}},
    {"id": "with:else", "template": "{{#with nope}}x{{else}}none{{/with}}", "data": {}},
    {"id": "with:zero", "template": "{{#with z}}[{{this}}]{{else}}none{{/with}}", "data": {"z": 0}},
    {"id": "with:no_arg", "template": "{{#with}}x{{/with}}", "data": {}},
    # --- mustache-style sections --------------------------------------------------------------------------------
    {"id": "section:list", "template": "{{#xs}}[{{.}}]{{/xs}}", "data": {"xs": [1, 2]}},
    {"id": "section:obj", "template": "{{#o}}{{a}}{{/o}}", "data": {"o": {"a": "A"}}},
    {"id": "section:zero", "template": "{{#z}}[{{.}}]{{/z}}", "data": {"z": 0}},
    {"id": "section:string", "template": "{{#s}}[{{.}}]{{/s}}|{{^s}}I{{/s}}", "data": {"s": "str"}},
    {"id": "section:list_index", "template": "{{#xs}}{{@index}}{{/xs}}", "data": {"xs": ["a", "b"]}},
    {"id": "section:dotted", "template": "{{#a.b}}{{c}}{{/a.b}}", "data": {"a": {"b": {"c": 1}}}},
    {"id": "section:mismatch", "template": "{{#a}}x{{/b}}", "data": {}},
    {"id": "section:unclosed", "template": "{{#a}}x", "data": {}},
    {"id": "section:unopened", "template": "x{{/a}}", "data": {}},
    {"id": "section:else_outside", "template": "x{{else}}y", "data": {}},
    {"id": "section:inverted_else_chain", "template": "{{^a}}x{{else if b}}y{{/a}}", "data": {}},
    {
        "id": "section:null_ctx_section",
        "template": "{{#each xs}}{{#t}}[{{this}}]{{/t}}{{/each}}",
        "data": {"xs": [None], "t": True},
    },
    # --- lookup / log ---------------------------------------------------------------------------------------------
    {
        "id": "lookup:dynamic",
        "template": "{{#each keys}}{{lookup ../o this}};{{/each}}",
        "data": {"keys": ["a", "b"], "o": {"a": 1, "b": 2}},
    },
    {
        "id": "lookup:index",
        "template": "{{#each xs}}{{lookup ../names @index}}{{/each}}",
        "data": {"xs": [1, 2], "names": ["a", "b"]},
    },
    {
        "id": "lookup:subexpr",
        "template": "{{#with (lookup o 'a')}}{{b}}{{/with}}|{{lookup (lookup o 'a') 'b'}}",
        "data": {"o": {"a": {"b": "deep"}}},
    },
    {
        "id": "lookup:falsy",
        "template": "[{{lookup z 'x'}}][{{lookup f 'x'}}][{{lookup n 'x'}}]",
        "data": {"z": 0, "f": False},
    },
    {"id": "lookup:length", "template": "{{lookup xs 'length'}}", "data": {"xs": [1, 2]}},
    {"id": "lookup:block", "template": "{{#lookup o 'a'}}ignored{{/lookup}}", "data": {"o": {"a": "<v>"}}},
    {"id": "log:silent", "template": "a{{log 'msg' x level='warn'}}b{{log}}c", "data": {"x": 1}},
    {"id": "log:block", "template": "a{{#log 'x'}}inner{{/log}}b", "data": {}},
    # --- helpers / subexpressions / literals --------------------------------------------------------------------
    {"id": "helper:missing_with_args", "template": "{{nope a}}", "data": {}},
    {"id": "helper:missing_hash_only", "template": "[{{nope a=1}}]", "data": {}},
    {"id": "helper:missing_hash_only_value", "template": "[{{nope a=1}}]", "data": {"nope": "x"}},
    {"id": "helper:missing_block", "template": "{{#nope a}}x{{/nope}}", "data": {}},
    {"id": "helper:missing_subexpr", "template": "[{{lookup (nope) 'x'}}]", "data": {}},
    {"id": "helper:missing_subexpr_value", "template": "[{{lookup (nope) 'x'}}]", "data": {"nope": 1}},
    {"id": "helper:dotted_call", "template": "{{a.b c}}", "data": {"a": {"b": 1}}},
    {"id": "helper:helper_missing_name", "template": "{{helperMissing}}", "data": {}},
    {
        "id": "helper:eq_ne",
        "template": "{{#if (eq a 1)}}one{{/if}}{{#if (ne a 2)}}!2{{/if}}{{eq a '1'}}",
        "data": {"a": 1},
        H: ["eq", "ne"],
    },
    {
        "id": "helper:compare",
        "template": "{{lt 1 2}}{{lte 2 2}}{{gt 1 2}}{{gte 'b' 'a'}}",
        "data": {},
        H: ["lt", "lte", "gt", "gte"],
    },
    {
        "id": "helper:logic",
        "template": "{{and a b}}{{or a b}}{{not a}}{{#if (and a (not b))}}Y{{/if}}",
        "data": {"a": 1, "b": 0},
        H: ["and", "or", "not"],
    },
    {
        "id": "helper:arith",
        "template": "{{add 1 2}}|{{add 0.1 0.2}}|{{subtract 5 7}}|{{multiply 3 1.1}}|{{add '2' 3}}",
        "data": {},
        H: ["add", "subtract", "multiply"],
    },
    {
        "id": "helper:case",
        "template": "{{uppercase s}}|{{lowercase s}}|{{uppercase n}}",
        "data": {"s": "MiXed <b>", "n": None},
        H: ["uppercase", "lowercase"],
    },
    {
        "id": "helper:join",
        "template": "{{join xs ', '}}|{{join xs}}|{{{join tags ' & '}}}",
        "data": {"xs": [1, None, "a"], "tags": ["<a>", "b"]},
        H: ["join"],
    },
    {
        "id": "helper:nested_subexpr",
        "template": "{{add (multiply 2 3) (subtract 10 (add 1 1))}}",
        "data": {},
        H: ["add", "multiply", "subtract"],
    },
    {
        "id": "helper:hash_literals",
        "template": "{{#if a includeZero=true}}{{/if}}{{lookup o \"k\"}}{{lookup o 'k'}}",
        "data": {"a": 0, "o": {"k": "v"}},
    },
    {
        "id": "helper:string_escapes",
        "template": "{{lookup o \"a\\\"b\"}}|{{lookup o 'c\\'d'}}",
        "data": {"o": {'a"b': 1, "c'd": 2}},
    },
    {
        "id": "helper:doc_names_as_data",
        "template": "{{length}}|{{#default}}D{{/default}}|{{json}}|{{sum.total}}",
        "data": {"length": 3, "default": True, "json": "j", "sum": {"total": 9}},
    },
    # --- partials ---------------------------------------------------------------------------------------------
    {"id": "partial:basic", "template": "[{{> p}}]", "data": {"x": 1}, "partials": {"p": "x={{x}}"}},
    {"id": "partial:context", "template": "{{> p a}}", "data": {"a": {"x": 2}}, "partials": {"p": "x={{x}}"}},
    {
        "id": "partial:hash",
        "template": "{{> p a y=3 x='h'}}",
        "data": {"a": {"x": 2, "z": 9}},
        "partials": {"p": "{{x}}{{y}}{{z}}"},
    },
    {"id": "partial:hash_no_ctx", "template": "{{> p y=3}}", "data": {"x": 1}, "partials": {"p": "{{x}}{{y}}"}},
    {
        "id": "partial:hash_array_ctx",
        "template": "{{> p xs y=3}}",
        "data": {"xs": ["a", "b"]},
        "partials": {"p": "{{[0]}}{{[1]}}{{y}}{{length}}"},
    },
    {"id": "partial:missing", "template": "{{> nope}}", "data": {}},
    {
        "id": "partial:dynamic",
        "template": "{{> (lookup . 'which') }}|{{> (lookup . 'name')}}",
        "data": {"which": "a", "name": "b"},
        "partials": {"a": "A", "b": "B"},
    },
    {"id": "partial:dynamic_missing", "template": "{{> (lookup . 'nope')}}", "data": {}, "partials": {"a": "A"}},
    {
        "id": "partial:string_name",
        "template": "{{> 'my partial'}}|{{> \"my partial\"}}",
        "data": {},
        "partials": {"my partial": "MP"},
    },
    {
        "id": "partial:path_name",
        "template": "{{> dir/file}}|{{> dir.file}}",
        "data": {},
        "partials": {"dir/file": "slash", "dir.file": "dot"},
    },
    {"id": "partial:nested", "template": "{{> a}}", "data": {"x": 1}, "partials": {"a": "a({{> b}})", "b": "b{{x}}"}},
    {
        "id": "partial:recursive_tree",
        "template": "{{> node tree}}",
        "data": {"tree": {"n": 1, "kids": [{"n": 2, "kids": [{"n": 3}]}, {"n": 4}]}},
        "partials": {"node": "{{n}}{{#if kids}}({{#each kids}}{{> node}}{{/each}}){{/if}}"},
    },
    {
        "id": "partial:parent_fresh",
        "template": "{{#with a}}{{> p}}{{/with}}",
        "data": {"x": 1, "a": {"y": 2}},
        "partials": {"p": "[{{../x}}][{{y}}]"},
    },
    {
        "id": "partial:root_in_partial",
        "template": "{{#with a}}{{> p}}{{/with}}",
        "data": {"x": 1, "a": {}},
        "partials": {"p": "{{@root.x}}"},
    },
    {
        "id": "partial:index_in_partial",
        "template": "{{#each xs}}{{> p}}{{/each}}",
        "data": {"xs": ["a", "b"]},
        "partials": {"p": "{{@index}}{{this}}"},
    },
    {
        "id": "partial:block_params_invisible",
        "template": "{{#each xs as |x|}}{{> p}}{{/each}}",
        "data": {"xs": [1]},
        "partials": {"p": "[{{x}}]"},
    },
    {"id": "partial:too_many_params", "template": "{{> p a b}}", "data": {}, "partials": {"p": "x"}},
    {"id": "partial:syntax_error_unused", "template": "ok", "data": {}, "partials": {"bad": "{{#if}}"}},
    {"id": "partial:syntax_error_used", "template": "{{> bad}}", "data": {}, "partials": {"bad": "{{#if x}}"}},
    {
        "id": "partial:standalone_indent_nested",
        "template": "a\n  {{> outer}}\nb",
        "data": {},
        "partials": {"outer": "o1\n  {{> inner}}\no2\n", "inner": "i1\ni2\n"},
    },
    {"id": "partial:standalone_tilde", "template": "a\n  {{~> p}}\nb", "data": {}, "partials": {"p": "P\n"}},
    {"id": "partial:crlf", "template": "a\r\n  {{> p}}\r\nb", "data": {}, "partials": {"p": "P1\r\nP2\r\n"}},
    {
        "id": "partial:indent_data_newlines",
        "template": "  {{> p}}\n",
        "data": {"t": "a\nb\n"},
        "partials": {"p": "{{t}}"},
    },
    # --- partial blocks / inline partials -----------------------------------------------------------------------
    {"id": "pblock:default", "template": "{{#> missing}}default {{x}}{{/missing}}", "data": {"x": 1}},
    {
        "id": "pblock:layout",
        "template": "{{#> layout title='T'}}body {{x}}{{/layout}}",
        "data": {"x": 1},
        "partials": {"layout": "<h1>{{title}}</h1>{{> @partial-block}}<footer/>"},
    },
    {
        "id": "pblock:layout_ctx",
        "template": "{{#> layout a}}[{{y}}]{{/layout}}",
        "data": {"a": {"y": "inner"}, "y": "outer"},
        "partials": {"layout": "{{#with sub}}{{> @partial-block}}{{/with}}"},
    },
    {
        "id": "pblock:each_in_layout",
        "template": "{{#> list}}<{{this}}:{{@index}}>{{/list}}",
        "data": {"xs": [1, 2]},
        "partials": {"list": "{{#each xs}}{{> @partial-block}}{{/each}}"},
    },
    {
        "id": "pblock:nested",
        "template": "{{#> outer}}O{{#> inner}}I{{/inner}}{{/outer}}",
        "data": {},
        "partials": {"outer": "(o {{> @partial-block}} o)", "inner": "(i {{> @partial-block}} i)"},
    },
    {"id": "pblock:missing_block", "template": "{{> p}}", "data": {}, "partials": {"p": "x{{> @partial-block}}"}},
    {
        "id": "pblock:standalone",
        "template": "{{#> layout}}\n  body\n{{/layout}}\n",
        "data": {},
        "partials": {"layout": "<div>\n  {{> @partial-block}}\n</div>\n"},
    },
    {
        "id": "pblock:parent_path",
        "template": "{{#with a}}{{#> layout}}{{../x}}{{/layout}}{{/with}}",
        "data": {"x": "root", "a": {"x": "a"}},
        "partials": {"layout": "[{{> @partial-block}}]"},
    },
    {
        "id": "pblock:block_param",
        "template": "{{#each xs as |x|}}{{#> layout}}{{x}}{{/layout}}{{/each}}",
        "data": {"xs": [1, 2]},
        "partials": {"layout": "[{{> @partial-block}}]"},
    },
    {"id": "pblock:else_error", "template": "{{#> p}}a{{else}}b{{/p}}", "data": {}, "partials": {"p": "x"}},
    {"id": "inline:basic", "template": '{{#*inline "p"}}P{{x}}{{/inline}}{{> p}}', "data": {"x": 1}},
    {"id": "inline:before_def", "template": '{{> p}}{{#*inline "p"}}P{{/inline}}', "data": {}},
    {
        "id": "inline:override",
        "template": '{{#*inline "p"}}inline{{/inline}}{{> p}}',
        "data": {},
        "partials": {"p": "file"},
    },
    {
        "id": "inline:scoped",
        "template": '{{#if t}}{{#*inline "p"}}in-if{{/inline}}{{> p}}{{/if}}|{{> p}}',
        "data": {"t": 1},
        "partials": {"p": "global"},
    },
    {
        "id": "inline:in_layout",
        "template": '{{#> layout}}{{#*inline "content"}}C{{x}}{{/inline}}{{/layout}}',
        "data": {"x": 1},
        "partials": {"layout": "<{{> content}}>"},
    },
    {"id": "inline:standalone", "template": 'a\n{{#*inline "p"}}\n  P\n{{/inline}}\n{{> p}}\nb\n', "data": {}},
    {
        "id": "inline:visible_in_partial",
        "template": '{{#*inline "i"}}I{{/inline}}{{> outer}}',
        "data": {},
        "partials": {"outer": "<{{> i}}>"},
    },
    {
        "id": "inline:ctx",
        "template": '{{#*inline "p"}}{{name}}{{/inline}}{{#each xs}}{{> p}}{{/each}}',
        "data": {"xs": [{"name": "a"}, {"name": "b"}]},
    },
    {"id": "inline:else_error", "template": '{{#*inline "p"}}a{{else}}b{{/inline}}', "data": {}},
    # --- whitespace control -------------------------------------------------------------------------------------
    {"id": "ws:tilde_both", "template": "a  {{~x~}}  b", "data": {"x": 1}},
    {"id": "ws:tilde_newlines", "template": "a \n\n {{~x}} \n\n b {{x~}} \n\n c", "data": {"x": 1}},
    {
        "id": "ws:tilde_block",
        "template": "<ul>\n  {{~#each xs~}}\n    <li>{{this}}</li>\n  {{~/each~}}\n</ul>",
        "data": {"xs": [1, 2]},
    },
    {"id": "ws:tilde_triple", "template": "a {{~{x}~}} b", "data": {"x": "<"}},
    {"id": "ws:tilde_else", "template": "{{#if f}}a{{~else~}}  b  {{/if}}", "data": {"f": False}},
    {"id": "ws:standalone_block_root_start", "template": "{{#if t}}\nyes\n{{/if}}\n", "data": {"t": 1}},
    {
        "id": "ws:standalone_nested",
        "template": "<ul>\n  {{#each xs}}\n    {{#if this}}\n    <li>{{this}}</li>\n    {{/if}}\n  {{/each}}\n</ul>\n",
        "data": {"xs": [1, 0, 2]},
    },
    {"id": "ws:standalone_else", "template": "{{#if t}}\n  A\n  {{else}}\n  B\n{{/if}}", "data": {"t": 0}},
    {"id": "ws:not_standalone_text", "template": " x {{#if t}}\ny\n{{/if}} z\n", "data": {"t": 1}},
    {"id": "ws:two_tags_one_line", "template": "{{#if t}}{{#if t}}\nx\n{{/if}}{{/if}}\n", "data": {"t": 1}},
    {"id": "ws:mustache_not_standalone", "template": "a\n  {{x}}\nb", "data": {"x": 1}},
    {"id": "ws:crlf_standalone", "template": "a\r\n{{#if t}}\r\nb\r\n{{/if}}\r\nc", "data": {"t": 1}},
    {"id": "ws:tabs", "template": "\t{{#if t}}\t\n\tx\n\t{{/if}}\t\n", "data": {"t": 1}},
    {"id": "ws:unicode_space", "template": "a\u00a0{{~x~}}\u2003b\u3000\n{{~x}}", "data": {"x": 1}},
    {"id": "ws:only_tag", "template": "{{#if t}}{{/if}}", "data": {"t": 1}},
    {"id": "ws:escaped_content_sibling", "template": "\\{{x}}\n{{#if t}}\ny\n{{/if}}\n", "data": {"t": 1}},
    # --- syntax errors --------------------------------------------------------------------------------------------
    {"id": "syntax:unclosed_mustache", "template": "{{x", "data": {}},
    {"id": "syntax:triple_mismatch", "template": "{{{x}}", "data": {}},
    {"id": "syntax:triple_extra", "template": "{{x}}}", "data": {}},
    {"id": "syntax:bad_char", "template": "{{x;}}", "data": {}},
    {"id": "syntax:hash_then_param", "template": "{{lookup a=1 b}}", "data": {}},
    {"id": "syntax:subexpr_head", "template": "{{(lookup a 'b')}}", "data": {}},
    {"id": "syntax:empty", "template": "{{}}", "data": {}},
    {"id": "syntax:close_only", "template": "}}", "data": {}},
    {"id": "syntax:nul", "template": "a\u0000{{x}}", "data": {"x": 1}},
    {"id": "syntax:block_params_empty", "template": "{{#each xs as ||}}x{{/each}}", "data": {}},
    {"id": "syntax:sep_at_end", "template": "{{a.}}", "data": {"a": {"x": 1}}},
    {"id": "syntax:number_seg", "template": "{{a.0}}", "data": {}},
    {"id": "syntax:else_twice", "template": "{{#if a}}x{{else}}y{{else}}z{{/if}}", "data": {}},
    {"id": "syntax:unknown_decorator_ok", "template": "x{{! {{*foo}} }}", "data": {}},
    {
        "id": "syntax:weird_ids",
        "template": "{{$a}}|{{a-b}}|{{a:b}}|{{a?}}|{{é}}",
        "data": {"$a": 1, "a-b": 2, "a:b": 3, "a?": 4, "é": 5},
    },
    {"id": "syntax:spaces_inside", "template": "{{  x  }}|{{# if  x }}y{{ else }}n{{/ if }}", "data": {"x": 1}},
    {"id": "partial:dynamic_data_value", "template": "{{> (which) }}", "data": {"which": "a"}, "partials": {"a": "A"}},
    {"id": "syntax:else_spaces", "template": "{{#if x}}a{{ else }}b{{/if}}", "data": {"x": 0}},
    {"id": "syntax:newline_in_tag", "template": "{{#each\n xs\n as |x|\n}}{{x}}{{/each}}", "data": {"xs": [1]}},
    # --- numbers in data (JS printing) -------------------------------------------------------------------------
    {
        "id": "num:many",
        "template": "{{#each xs}}{{this}} {{/each}}",
        "data": {
            "xs": [
                0.5,
                1e-6,
                1e-7,
                123.456,
                1e21,
                999999999999999999999,
                1e100,
                -1e-100,
                0.1,
                100.0,
                2.5e-5,
                12345678.9,
            ]
        },
    },
    {"id": "num:array_print", "template": "{{xs}}|{{{xs}}}", "data": {"xs": [1.0, -0.0, 2e21, None, [None], "<"]}},
    {
        "id": "num:literal_params",
        "template": "{{lookup xs 1}}|{{lookup o 1.5}}|{{lookup o -1}}",
        "data": {"xs": ["a", "b"], "o": {"1.5": "x", "-1": "m"}},
    },
]


def all_cases() -> list[Case]:
    cases = value_cases() + whitespace_cases() + partial_cases() + HAND
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    return cases
