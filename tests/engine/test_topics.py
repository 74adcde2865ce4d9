"""Topics of demand texts (``engine/topics.py``): boilerplate stripped, clusters named by their own words,
the names' shares estimated on a sample without changing them, momentum's pseudo-counts."""

from __future__ import annotations

import numpy as np

from matcher.engine import topics

COAL = "煤气化废水处理工艺优化，降低酚氨回收能耗。"
BATTERY = "钠离子电池正极材料循环寿命提升，开展电芯测试。"
SHARED = "接受顾问指导、短期兼职或项目合作等柔性方式。"


def test_shared_sentences_are_stripped_and_a_text_of_nothing_else_is_kept() -> None:
    texts = [COAL + SHARED, BATTERY + SHARED, COAL + SHARED, SHARED]
    out = topics.strip_boilerplate(texts, share=0.5, at_least=3)
    assert out[:3] == [COAL, BATTERY, COAL]
    assert out[3] == SHARED  # nothing would be left: the text stays whole


def test_clusters_follow_the_vectors_and_are_named_by_their_words() -> None:
    texts = [COAL] * 6 + [BATTERY] * 4
    vectors = np.array([[1.0, 0.0]] * 6 + [[0.0, 1.0]] * 4)
    found = topics.cluster(vectors, texts, wanted=2)
    assert [len(t.members) for t in found] == [6, 4]
    assert set(found[0].members) == set(range(6))
    assert any("废水" in p or "煤气化" in p for p in found[0].phrases)
    assert any("钠离子" in p or "电池" in p for p in found[1].phrases)


def test_a_sample_of_a_large_group_names_it_as_the_whole_does() -> None:
    group = [COAL, "煤气化废水深度处理，回收酚氨。", "废水零排放与煤气化装置耦合。"] * 200
    other = [BATTERY] * 50
    whole = topics.key_phrases([group, other], limit=3, sample=10_000)
    sampled = topics.key_phrases([group, other], limit=3, sample=60)
    assert sampled == whole and "废水" in whole[0]


def test_growth_counts_one_pseudo_demand_each_side() -> None:
    t = topics.Topic(0, (0,), ("钠离子电池",), 0)
    rising, steady = topics.Trend(t, before=0, after=5), topics.Trend(t, before=10, after=15)
    assert rising.growth == 6.0 and rising.growth > steady.growth and steady.change == 5


def test_risers_are_ranked_by_how_far_the_change_stands_out_from_chance() -> None:
    t = topics.Topic(0, (0,), ("x",), 0)
    new, noise, drift = (topics.Trend(t, 0, 6), topics.Trend(t, 1, 6), topics.Trend(t, 1000, 1050))
    assert new.score > noise.score > drift.score > topics.Trend(t, 5, 5).score == 0 > topics.Trend(t, 6, 0).score
