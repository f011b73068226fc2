"""Shards, tasks and candidate building: the pure parts of the workers."""

from __future__ import annotations

import json

import pytest

from jobs.corpus import candidates, shards, sources
from shared import text as textlib


def row(post_id, keyword, text, reply, lang="en", source="s"):
    return {"post_id": post_id, "keyword": keyword, "text": text, "reply_text": reply, "lang": lang, "source": source}


def test_a_stock_reply_given_to_many_posts_ranks_after_specific_ones():
    rows = [
        row("1", "cat", "I have a cat", "Cats are great, I love them"),
        row("2", "cat", "my cat is cute", "Cats are great, I love them"),
        row("3", "cat", "cat food, cat toys and a cat tree: all for my cat", "Cats are great, I love them"),
        row("4", "cat", "cat food, cat toys and a cat tree: I spent so much", "Tuna works well for most cats here"),
        row("5", "cat", "a cat?", "Mine sleeps on the keyboard all day long"),
    ]
    built = candidates.build(rows)["cat"]
    assert [c["text"] for c in built.candidates] == [
        "Mine sleeps on the keyboard all day long",  # the shortest post: the cat is its topic
        "Tuna works well for most cats here",
        "Cats are great, I love them",  # said to three posts: a stock line
    ]


def test_replies_are_normalised_and_deduplicated_keeping_the_first_post():
    rows = [row("2", "cat", "b", "Ｈｅｌｌｏ  there"), row("1", "cat", "a", "hello there")]
    built = candidates.build(rows)["cat"]
    assert built.candidates == ({"text": "hello there", "context": "a", "source": "s", "terms": "a hello there"},)


def test_the_list_is_capped_and_the_same_rows_in_any_order_give_the_same_document():
    rows = [row(str(i), "k", f"post {i}", f"reply number {i}") for i in range(50)]
    a = candidates.build(rows, cap=10)["k"]
    b = candidates.build(list(reversed(rows)), cap=10)["k"]
    assert len(a.candidates) == 10
    assert a == b and a.content_hash == b.content_hash


def test_a_keyword_takes_the_language_of_most_of_its_rows():
    rows = [row("1", "ok", "ok?", "ok!", "en"), row("2", "ok", "ok です", "はい", "ja"), row("3", "ok", "ok.", "fine", "en")]
    assert candidates.build(rows)["ok"].lang == "en"


def test_a_keyword_always_lands_in_the_same_shard():
    parts = shards.partition([row(str(i), f"k{i % 7}", "t", "r") for i in range(100)], 4)
    for part in parts.values():
        for r in part:
            assert shards.shard_of(r["keyword"], 4) == shards.shard_of(r["keyword"], 4)
    owners = {r["keyword"]: i for i, part in parts.items() for r in part}
    assert len(owners) == 7 and sum(len(p) for p in parts.values()) == 100


def test_shards_round_trip_through_a_folder(tmp_path):
    store = shards.ShardStore(str(tmp_path))
    rows = [row("1", "猫", "猫が好き", "私も")]
    urls = store.write("run1", {0: rows, 1: []})
    assert list(urls) == [0] and urls[0].startswith("file://")
    assert shards.read_rows(urls[0]) == rows


def test_a_missing_shard_is_a_task_error(tmp_path):
    with pytest.raises(shards.TaskError):
        shards.read_rows((tmp_path / "nope.jsonl").as_uri())


@pytest.mark.parametrize(
    "data",
    [b"not json", b"[]", b'{"schema_version": 2}', b'{"schema_version": 1, "run_id": "r"}',
     json.dumps({"schema_version": 1, "run_id": "r", "shard": -1, "uri": "u", "rows": 1}).encode()],
)
def test_malformed_tasks_are_refused(data):
    with pytest.raises(shards.TaskError):
        shards.ShardTask.from_json(data)


def test_a_task_round_trips():
    task = shards.ShardTask(run_id="r", shard=3, uri="file:///x", rows=9)
    assert shards.ShardTask.from_json(task.to_json()) == task


def test_a_shard_at_gs_needs_the_storage_client_it_is_handed():
    with pytest.raises(ValueError, match="Cloud Storage client"):
        shards.read_rows("gs://bucket/run1/shard-00000.jsonl")


def test_shard_locations_other_than_paths_file_and_gs_are_refused():
    with pytest.raises(ValueError):
        shards.ShardStore("s3://bucket/x")


def test_posts_rows_carry_the_keywords_the_scorer_extracts():
    pair = sources.Pair("p1", "好きな食べ物は何ですか？", "ピザです", "ja", "test")
    assert [r["keyword"] for r in pair.rows()] == textlib.keywords(pair.text, "ja")[: sources.MAX_KEYWORDS_PER_POST]


def test_shipped_sources_give_japanese_and_english_pairs_and_a_deterministic_sample():
    chatterbot = list(sources.chatterbot_pairs())
    assert {p.lang for p in chatterbot} == {"ja", "en"}
    nagonbot = list(sources.nagonbot_pairs())
    assert nagonbot and {p.lang for p in nagonbot} == {"ja"}
    assert not any(":BGM_ON:" in p.post_id for p in nagonbot)
    first, again = list(sources.chitchat_pairs(limit=50)), list(sources.chitchat_pairs(limit=50))
    assert len(first) == 50 and first == again and all(p.lang == "en" and p.created_at for p in first)
    assert len({p.post_id for p in chatterbot + nagonbot + first}) == len(chatterbot + nagonbot + first)


def test_a_run_of_chat_lines_reads_as_sentences_and_stops_before_it_wanders():
    assert sources._joined(["Trumpet", "And I can play a little piano", "Do you play?"]) == (
        "Trumpet. And I can play a little piano. Do you play?"
    )
    assert sources._joined(["ok!", "how are you"]) == "ok! how are you"
    assert sources._joined(["what do you listen to the most", "?"]) == "what do you listen to the most ?"
    long = ["one two three four five six seven eight nine ten"] * 3
    assert sources._joined(long, max_words=25) == f"{long[0]}. {long[0]}"
    assert sources._joined(long[:1], max_words=5) == long[0]  # the first line always stays


def test_chatterbot_recitations_are_not_replies():
    replies = {p.reply_text for p in sources.chatterbot_pairs(("en",))}
    assert replies and "Explicit is better than implicit." not in replies and "Readability counts." not in replies


def test_only_chatterbots_everyday_chat_is_a_source_of_replies():
    pairs = list(sources.chatterbot_pairs(("en",)))
    assert {p.source.rsplit("/", 1)[1] for p in pairs} == sources.CHATTERBOT_CHAT_FILES
    assert "Actually I eat only electricity." not in {p.reply_text for p in pairs}  # another bot's persona


def test_a_keyword_with_enough_specific_replies_keeps_no_generic_one():
    rows = [row(str(i), "cat", f"cat post {i}", f"my cat number {i} sleeps all day") for i in range(candidates.ENOUGH_SPECIFIC)]
    rows.append(row("x", "cat", "cat?", "yes"))  # short: generic
    built = candidates.build(rows)["cat"]
    assert "yes" not in [c["text"] for c in built.candidates]
    assert "yes" in [c["text"] for c in candidates.build(rows[-3:])["cat"].candidates]  # few others: kept, last


def test_real_persona_chat_pairs_leave_out_the_held_out_dialogues_and_sample_whole_dialogues():
    from jobs.train.data import HELD_OUT, split_of

    sample = list(sources.real_persona_chat_pairs(limit=400))
    assert len(sample) == 400 and {p.lang for p in sample} == {"ja"}
    dialogues = {p.post_id.rsplit(":", 1)[0] for p in sample}
    assert all(split_of(d) != HELD_OUT for d in dialogues)
    assert sample == list(sources.real_persona_chat_pairs(limit=400))  # deterministic
    assert "real_persona_chat" in sources.SOURCES and sources.SOURCES["real_persona_chat"].sampled_by_default


def test_stored_terms_rank_exactly_as_analysing_the_text_would():
    from shared.ranking import Candidate, Context
    from shared.ranking.lexical import RANKERS

    rows = [row(str(i), "猫", post, reply, "ja") for i, (post, reply) in enumerate(
        [("猫が好きです", "うちの猫は三毛猫です"), ("猫を飼っていますか", "犬を飼っています"), ("猫カフェに行きました", "猫カフェいいですね!")]
    )]
    stored = [Candidate.from_dict(c) for c in candidates.build(rows)["猫"].candidates]
    assert all(c.terms for c in stored)
    bare = [Candidate(c.text, c.context, c.source) for c in stored]
    context = Context(("猫カフェが好きです",), "ja")
    for ranker in RANKERS.values():
        assert [(s.candidate.text, round(s.score, 9)) for s in ranker().rank(context, stored)] == [
            (s.candidate.text, round(s.score, 9)) for s in ranker().rank(context, bare)
        ]
