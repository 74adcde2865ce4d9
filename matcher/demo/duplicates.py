"""Seeded duplicates for the demo and for measuring the duplicate finder (``matcher dedup-eval``).

A *duplicate* is one of the demo's talents as a second list would carry them: the same person with
realistic variations — the name spaced differently, the affiliation with its school (or a new employer
after a move), a promotion, the profile reworded and shortened, a phone number missing or changed, a
private email instead of the work one. A *namesake* is a different person with the same name as a demo
talent, a third of them in the same institution: what a finder must not merge.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from matcher.demo import generator

SCHOOLS = ("化学化工学院", "机械工程学院", "材料科学与工程学院", "信息与通信工程学院", "能源与动力工程学院",
           "电气与动力工程学院", "计算机科学与技术学院", "环境科学与工程学院")
PROMOTION = {"副教授": "教授", "副研究员": "研究员", "高级工程师": "正高级工程师", "讲师": "副教授"}
MAIL = ("163.com", "126.com", "qq.com", "foxmail.com")


def _sentences(text: str) -> list[str]:
    return [x + "。" for x in text.replace("；", "。").split("。") if x.strip()]


def variant(row: dict[str, Any], rng: random.Random, other_affiliation: str) -> dict[str, Any]:
    """The same person as another list records them."""
    out = dict(row)
    name = row["name"]
    roll = rng.random()
    if roll < 0.12 and len(name) >= 2:
        out["name"] = name[0] + " " + name[1:]  # "王 磊"
    elif roll < 0.18:
        out["name"] = name + "（" + rng.choice(("教授", "博士", "研究员")) + "）"
    roll = rng.random()
    if roll < 0.4 and "大学" in row["affiliation"]:
        out["affiliation"] = row["affiliation"] + rng.choice(SCHOOLS)
    elif roll < 0.55:
        out["affiliation"] = other_affiliation  # moved since the other list was made
    out["title"] = PROMOTION.get(row["title"], row["title"]) if rng.random() < 0.3 else row["title"]
    sentences = _sentences(row["profile"])
    if len(sentences) > 2:
        sentences.pop(rng.randrange(1, len(sentences)))
    rng.shuffle(sentences)
    out["profile"] = "".join(sentences)
    fields = list(row["research_fields"])
    rng.shuffle(fields)
    out["research_fields"] = fields[: max(1, len(fields) - rng.randint(0, 1))]
    out["achievements"] = row["achievements"] if rng.random() < 0.5 else ""
    out["patents"] = max(0, row["patents"] + rng.randint(-2, 2))
    out["projects"] = max(0, row["projects"] + rng.randint(-1, 1))
    roll = rng.random()
    new_phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
    out["phone"] = row["phone"] if roll < 0.55 else "" if roll < 0.8 else new_phone
    roll = rng.random()
    local = row["email"].split("@")[0]
    private = f"{local}{rng.randint(1, 99)}@{rng.choice(MAIL)}"
    out["email"] = row["email"] if roll < 0.4 else "" if roll < 0.7 else private
    return out


def seeded(seed: int, rows: Sequence[dict[str, Any]], duplicates: int, namesakes: int,
           id_prefix: str = "D") -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """New rows (duplicates and namesakes) for ``rows``, and the true pairs (external ids) they make."""
    rng = random.Random(f"{seed}-duplicates")
    if not rows:
        return [], []
    picks = rng.sample(range(len(rows)), min(duplicates + namesakes, len(rows)))
    out: list[dict[str, Any]] = []
    truth: list[tuple[str, str]] = []
    for n, i in enumerate(picks[:duplicates]):
        other = rows[rng.randrange(len(rows))]["affiliation"]
        row = variant(rows[i], rng, other)
        row["external_id"] = f"{id_prefix}{n + 1:06d}"
        out.append(row)
        truth.append((rows[i]["external_id"], row["external_id"]))
    for n, i in enumerate(picks[duplicates:]):
        stranger, _ = generator.talent(seed, 10_000_000 + n)
        stranger = dict(stranger)
        stranger["name"] = rows[i]["name"]
        if rng.random() < 0.33:
            stranger["affiliation"] = rows[i]["affiliation"]
        stranger["external_id"] = f"{id_prefix}N{n + 1:05d}"
        out.append(stranger)
    return out, truth
