"""Why a talent was proposed, in words a reviewer reads: the demand's phrases found in the profile, the
sentences on both sides that hold them (or, when no phrase is shared, the best-aligned pair of
sentences by embedding), each feature's contribution, and why the mode fits.

``Explanation`` is typed and immutable: the engine builds it once, with its alignment, and the service
turns it into the API's view (``ProposalView``) or stores it with a match (``as_json``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from matcher.domain.facts import DemandFacts, TalentFacts
from matcher.engine.ranking import Contribution, RankedTalent, mode_fit_text


@dataclass(frozen=True)
class Aligned:
    """The demand sentence and the profile sentence whose embeddings agree best, and their cosine."""

    demand_sentence: str
    talent_sentence: str
    similarity: float


@dataclass(frozen=True)
class Explanation:
    talent_id: int
    score: float
    eligible: bool
    excluded_by: str | None
    mode_fit: str
    ranker: str
    features: tuple[Contribution, ...]
    matched_terms: tuple[str, ...] = ()
    demand_phrases: tuple[str, ...] = ()
    talent_phrases: tuple[str, ...] = ()
    dense: float = 0.0
    lexical: float = 0.0
    semantic: float = 0.0
    aligned: Aligned | None = None

    def as_json(self) -> dict[str, Any]:
        """The stored and served form (a match's ``explanation`` column, the fields of ``ProposalView``)."""
        out: dict[str, Any] = {
            "talent_id": self.talent_id, "score": round(self.score, 4), "eligible": self.eligible,
            "excluded_by": self.excluded_by, "mode_fit": self.mode_fit, "ranker": self.ranker,
            "features": [c.as_dict() for c in self.features],
            "matched_terms": list(self.matched_terms), "demand_phrases": list(self.demand_phrases),
            "talent_phrases": list(self.talent_phrases),
            "scores": {"dense": round(self.dense, 4), "lexical": round(self.lexical, 4),
                       "semantic": round(self.semantic, 4)},
        }
        if self.aligned is not None:
            out["aligned"] = {"demand_sentence": self.aligned.demand_sentence,
                              "talent_sentence": self.aligned.talent_sentence,
                              "similarity": round(self.aligned.similarity, 3)}
        return out


STOPWORDS = frozenset((
    "我们", "公司", "企业", "需要", "希望", "专家", "技术", "问题", "进行", "开展", "提出",
    "方案", "相关", "以及", "方面", "研究", "工作", "系统", "主要", "目前", "现有", "实现",
    "提高", "建立", "优化", "项目", "方式", "提供", "采用", "通过", "导致", "影响", "一个",
    "没有", "能够", "万元", "周期", "预算", "预计", "省内外", "欢迎", "揭榜", "个月", "科技",
    "副总", "双聘", "柔性", "顾问", "指导", "合作", "长期", "从事", "主持", "参与", "负责", "领域", "取得",
    "成果", "发表", "论文", "获得", "担任", "教授", "研究员", "博士",
))
_WORDLIKE = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff]+$")
_SENT = re.compile(r"[^。；;！？\n]+[。；;！？]?")


@lru_cache(maxsize=256)
def _words(text: str) -> list[str]:
    """jieba words of a demand (cached: one demand is explained against many talents); punctuation → ""."""
    import jieba

    return [w if _WORDLIKE.match(w) else "" for w in jieba.cut(text)]


def matched_terms(demand_text: str, talent_text: str, limit: int = 8) -> list[str]:
    """Phrases of the demand that also occur in the talent's text, longest first.

    jieba splits technical terms (黏温特性 → 黏温 + 特性); adjacent words are merged back while the
    merged phrase still occurs in the talent's text, so a reviewer sees the term as written."""
    words = _words(demand_text)
    found: list[str] = []
    i = 0
    while i < len(words):
        phrase = words[i].strip()
        j = i + 1
        if phrase and phrase in talent_text:
            while j < len(words) and words[j].strip() and phrase + words[j] in talent_text:
                phrase += words[j]
                j += 1
        i = j
        if len(phrase) < 2 or phrase in STOPWORDS or phrase in found or phrase.isdigit() or phrase not in talent_text:
            continue
        found.append(phrase)
    found.sort(key=lambda w: (-len(w), demand_text.index(w)))
    return found[:limit]


def phrases_with(text: str, terms: Sequence[str], limit: int = 2) -> list[str]:
    """The sentences of ``text`` that contain the most matched terms (what a reviewer reads)."""
    sentences = [s.strip() for s in _SENT.findall(text) if s.strip()]
    scored = sorted(((sum(t in s for t in terms), -i, s) for i, s in enumerate(sentences)), reverse=True)
    return [s for n, _, s in scored[:limit] if n > 0]


def sentences_of(text: str, limit: int = 12, min_chars: int = 4) -> list[str]:
    """The text's sentences, in order, at most ``limit`` (what sentence alignment compares)."""
    return [x.strip() for x in _SENT.findall(text) if len(x.strip()) >= min_chars][:limit]


def scored(mode: str, talent: TalentFacts, ranked: RankedTalent) -> Explanation:
    """The score's make-up and the mode's fit, without the text evidence (rounds, the feedback log)."""
    return Explanation(talent_id=ranked.talent_id, score=ranked.score, eligible=ranked.eligible,
                       excluded_by=ranked.excluded_by, mode_fit=mode_fit_text(mode, talent), ranker=ranked.ranker,
                       features=ranked.contributions, dense=ranked.dense, lexical=ranked.lexical,
                       semantic=ranked.semantic)


def explain(demand: DemandFacts, talent: TalentFacts, ranked: RankedTalent, mode: str,
            aligned: Aligned | None = None) -> Explanation:
    """The whole explanation of one proposal; ``aligned`` is given for rows that share no phrase."""
    terms = matched_terms(demand.text, talent.text)
    return replace(scored(mode, talent, ranked), matched_terms=tuple(terms),
                   demand_phrases=tuple(phrases_with(demand.text, terms)),
                   talent_phrases=tuple(phrases_with(talent.text, terms)), aligned=aligned)
