"""The filter: rule files -> generated SQL, and the plain-Python reference."""

from __future__ import annotations

import pytest

from jobs.corpus import reference, rules as rules_lib, sql
from jobs.corpus.rules import LengthBounds, Rules, RulesError


@pytest.mark.parametrize(
    "value, literal",
    [
        ("abc", "'abc'"),
        ("it's", r"'it\'s'"),
        ("a\\b", r"'a\\b'"),
        ("\\'", r"'\\\''"),
        ("猫", "'猫'"),
        ("", "''"),
    ],
)
def test_string_literals_escape_quotes_and_backslashes(value, literal):
    assert sql.string_literal(value) == literal


def test_every_rule_version_folder_loads_and_its_words_are_folded():
    rules = rules_lib.load("v1")
    assert rules.ng_words and all(w == rules_lib.fold(w) for w in rules.ng_words)
    assert set(rules.patterns) == {"mention", "url", "hashtag"}
    assert rules.rule_names() == ["ng_word", "mention", "url", "hashtag", "too_short", "too_long", "duplicate"]


def test_ng_words_are_folded_so_full_width_and_case_variants_match():
    assert rules_lib.fold("ＦＵＣＫ") == "fuck"
    assert rules_lib.fold("ｸｿ") == "クソ"


@pytest.mark.parametrize(
    "pattern",
    [r"\w+", r"foo\b", r"\d{3}", r"(?=x)", r"(?<!x)y", r"(a)\1", "a\x00b", "(unclosed"],
)
def test_non_portable_or_broken_patterns_are_refused(pattern):
    with pytest.raises(RulesError):
        Rules(patterns={"p": pattern})


def test_an_empty_rule_set_keeps_every_row_and_still_makes_valid_sql():
    rules = Rules(duplicates=False)
    query = sql.filter_query(rules, "p.d.posts", "p.d.clean_posts")
    assert "CAST(NULL AS STRING) AS dropped_by" in query
    assert "CONTAINS_SUBSTR" not in query and "REGEXP_CONTAINS" not in query and "ROW_NUMBER" not in query
    assert rules.rule_names() == []


def test_each_rule_appears_once_in_the_query_in_order():
    rules = Rules(
        ng_words=("x'y", "猫"),
        patterns={"url": "https?://"},
        lengths={"text": LengthBounds(2, 10)},
    )
    query = sql.filter_query(rules, "p.d.posts", "p.d.clean_posts")
    positions = [query.index(f"THEN '{name}'") for name in ("ng_word", "url", "too_short", "too_long")]
    assert positions == sorted(positions)
    assert r"CONTAINS_SUBSTR(text_nf, 'x\'y')" in query and "CONTAINS_SUBSTR(reply_nf, '猫')" in query
    assert query.count("CREATE OR REPLACE TABLE `p.d.clean_posts`") == 1


def test_table_ids_with_backticks_are_refused():
    with pytest.raises(ValueError):
        sql.filter_query(Rules(), "p.d.posts`; DROP", "p.d.clean")


def row(post_id, text, reply, keyword="k"):
    return {"post_id": post_id, "keyword": keyword, "text": text, "reply_text": reply}


RULES = Rules(
    ng_words=(rules_lib.fold("Bad"), "死ね"),
    patterns={"mention": "(^|[^a-z0-9_.])@[a-z0-9_]{1,15}"},
    lengths={"text": LengthBounds(2, 20), "reply_text": LengthBounds(2, 20)},
)


@pytest.mark.parametrize(
    "text, reply, outcome",
    [
        ("hello there", "hi", "kept"),
        ("ＢＡＤ day", "oh", "ng_word"),
        ("ok", "死ねよ", "ng_word"),
        ("hi @Bob", "hey", "mention"),
        ("mail a@b.com", "ok", "kept"),
        ("h", "hello", "too_short"),
        ("hello", "x" * 21, "too_long"),
    ],
)
def test_the_reference_filter_names_the_first_rule_that_drops_a_row(text, reply, outcome):
    assert reference.outcomes(RULES, [row("p1", text, reply)]) == {reference.row_key(row("p1", text, reply)): outcome}


def test_duplicates_keep_the_smallest_post_id_per_keyword():
    rows = [row("b", "Hello", "Hi"), row("a", "hello", "ＨＩ"), row("c", "hello", "hi", keyword="other")]
    verdicts = reference.outcomes(RULES, rows)
    assert [verdicts[reference.row_key(r)] for r in rows] == ["duplicate", "kept", "kept"]


def test_a_dropped_row_never_makes_a_kept_row_its_duplicate():
    rows = [row("a", "hi @bob", "yo"), row("b", "hi @bob", "yo")]
    assert sorted(reference.counts(RULES, rows).items()) == [("mention", 2)]
