"""Topics of demand texts: clusters of their embeddings, each named by its own key phrases.

What the office reads as "what kind of expert is missing" (the unmet demands' topics) and "which topics are
rising" (the demands of two periods clustered together, counted per period). Plain data in, plain data out:
vectors and texts, no database.

Why these choices:
- *k-means on the normalised e5 vectors* (scikit-learn, a kept library): the vectors are unit length, so
  Euclidean k-means is spherical k-means (cosine); it is deterministic with a fixed seed, fast at 10k texts,
  and a cluster's centre gives its most typical demand. The number of clusters is capped by the setting and
  by the data (at most one per three texts), so a handful of demands is never split into singletons.
- *Names by class-based document frequency*: the nouns of each text (jieba's part-of-speech tags n*, vn,
  eng; two characters or more, not a stop word), scored per cluster by the share of its texts that use the
  word times the word's inverse document frequency over all the texts (log(N / df)) — the words that make
  this cluster different, not the ones every demand says (工艺, 方式) nor a word one text repeats. A name is
  the cluster's top three phrases, in the texts' own words.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from matcher.engine.explain import STOPWORDS

_WORD = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff]+$")
#: Words every demand says, on top of the explanations' stop words: they never name a topic.
TOPIC_STOPWORDS = STOPWORDS | frozenset((
    "工艺", "提升", "降低", "要求", "解决", "改进", "开发", "应用", "设计", "生产", "产品", "能力", "效率",
    "质量", "关键", "核心", "国内", "国外", "达到", "满足", "存在", "难题", "瓶颈", "以上", "以下", "左右",
    "其中", "包括", "协助", "帮助", "引进", "具备", "经验", "团队", "单位", "我司", "本公司", "现场",
))


@dataclass(frozen=True)
class Topic:
    """One cluster: its members (indices into the input), its name and key phrases, and the member nearest
    its centre (a typical demand to read)."""

    id: int
    members: tuple[int, ...]
    phrases: tuple[str, ...]
    typical: int

    @property
    def name(self) -> str:
        return "、".join(self.phrases[:3]) or "（未命名）"


#: jieba's part-of-speech tags of the words that can name a topic: nouns, nominal verbs, foreign words.
_NOUNISH = ("n", "vn", "eng")


def words(text: str) -> list[str]:
    """The topic words of a text: nouns of two characters or more and any word of three or more (technical
    terms such as 精脱硫 are often tagged as verbs), no stop words, numbers or units."""
    return list(_words(text))


@functools.lru_cache(maxsize=65536)
def _words(text: str) -> tuple[str, ...]:
    """Memoised: tagging is ~3 ms a text (jieba's HMM for words outside its dictionary), and the same demand
    texts are named again for every office, quarter and refresh."""
    import jieba.posseg

    out = []
    for w, flag in jieba.posseg.cut(text):
        w = w.strip()
        if w.isascii() and len(w) <= 3 and w.islower():
            continue  # units (mg, kw): never a topic
        if (len(w) >= 2 and (flag.startswith(_NOUNISH) or len(w) >= 3) and _WORD.match(w) and not w.isdigit()
                and w not in TOPIC_STOPWORDS):
            out.append(w)
    return tuple(out)


_SENTENCE = re.compile(r"[^。；;！？!?\n]+[。；;！？!?]?")


def strip_boilerplate(texts: Sequence[str], share: float = 0.05, at_least: int = 3) -> list[str]:
    """The texts without the sentences many of them share word for word (a mode's standard wording: "接受顾问
    指导、短期兼职或项目合作等柔性方式"): a sentence found in at least ``at_least`` texts and ``share`` of
    them says how the demand is offered, not what it is about, and would otherwise make its own topic."""
    split = [[x.strip() for x in _SENTENCE.findall(t) if x.strip()] for t in texts]
    seen: Counter[str] = Counter()
    for sentences in split:
        seen.update(set(sentences))
    limit = max(at_least, int(share * len(texts)))
    return ["".join(x for x in sentences if seen[x] < limit) or text for sentences, text in zip(split, texts,
                                                                                                    strict=True)]


def cluster_count(n: int, wanted: int) -> int:
    """How many clusters ``n`` texts get: at most ``wanted``, at most one per three texts, at least one."""
    return max(1, min(wanted, n // 3))


def cluster(vectors: np.ndarray, texts: Sequence[str], wanted: int, seed: int = 0,
            n_phrases: int = 6) -> list[Topic]:
    """Cluster ``vectors`` (one row per text) into at most ``wanted`` topics, largest first."""
    n = len(texts)
    if n == 0:
        return []
    if vectors.shape[0] != n:
        raise ValueError(f"{vectors.shape[0]} vectors for {n} texts")
    k = cluster_count(n, wanted)
    raw = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(raw, axis=1, keepdims=True)
    x: np.ndarray = raw / np.where(norms == 0, 1.0, norms)
    if k == 1:
        labels = np.zeros(n, dtype=np.int64)
        centres = x.mean(axis=0, keepdims=True)
    else:
        from sklearn.cluster import KMeans

        km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(x)
        labels, centres = km.labels_, km.cluster_centers_
    groups = [np.flatnonzero(labels == c) for c in range(k)]
    names = key_phrases([[texts[int(i)] for i in g] for g in groups], n_phrases)
    topics = []
    for c, g in enumerate(groups):
        if len(g) == 0:
            continue
        typical = int(g[int(np.argmax(x[g] @ centres[c]))])
        topics.append(Topic(c, tuple(int(i) for i in g), tuple(names[c]), typical))
    topics.sort(key=lambda t: (-len(t.members), t.typical))
    return [Topic(i, t.members, t.phrases, t.typical) for i, t in enumerate(topics)]


def key_phrases(groups: Sequence[Sequence[str]], limit: int = 6, sample: int = 300) -> list[list[str]]:
    """Each group's most distinctive words (share of the group's texts using the word × log(N / df) over all
    texts), best first; ties by the word. Shares are estimated on at most ``sample`` texts of a group, evenly
    spaced (deterministic): a topic's name needs its words' shares, not every text tagged — 10,000 demands
    would otherwise cost half a minute."""
    docs = [[set(words(text)) for text in _spaced(g, sample)] for g in groups]
    df: Counter[str] = Counter()
    for g in docs:
        for d in g:
            df.update(d)
    n = sum(len(g) for g in docs) or 1
    out = []
    for g in docs:
        inside: Counter[str] = Counter()
        for d in g:
            inside.update(d)
        size = max(1, len(g))
        scored = sorted(inside, key=lambda w: (-(inside[w] / size) * math.log(1 + n / df[w]), w))
        out.append(scored[:limit])
    return out


def _spaced(items: Sequence[str], at_most: int) -> Sequence[str]:
    if len(items) <= at_most:
        return items
    step = len(items) / at_most
    return [items[int(i * step)] for i in range(at_most)]


@dataclass(frozen=True)
class Trend:
    """A topic's demands in the earlier and the later period and the change (later − earlier)."""

    topic: Topic
    before: int
    after: int

    @property
    def change(self) -> int:
        return self.after - self.before

    @property
    def score(self) -> float:
        """The change over its standard deviation were both counts Poisson with no change (√(before + after),
        one pseudo-count added): a new topic of six demands (0 → 6, 2.3) outranks a topic of a few demands
        that moved by chance (1 → 6, 1.8) and a large topic's drift (1,000 → 1,050, 1.1)."""
        return self.change / math.sqrt(self.before + self.after + 1)

    @property
    def growth(self) -> float:
        """Relative change with one pseudo-count each side, so a topic going 0 → 5 ranks above 10 → 15."""
        return (self.after + 1) / (self.before + 1)


def momentum(vectors: np.ndarray, texts: Sequence[str], later: Sequence[bool], wanted: int,
             seed: int = 0) -> list[Trend]:
    """Cluster the demands of two periods together and count each topic per period; risers first, fallers
    last, by ``Trend.score``: how far the change stands out from the chance variation of counts of that size."""
    flags = np.asarray(later, dtype=bool)
    topics = cluster(vectors, texts, wanted, seed=seed)
    trends = [Trend(t, int((~flags[list(t.members)]).sum()), int(flags[list(t.members)].sum())) for t in topics]
    trends.sort(key=lambda tr: (-tr.score, -tr.growth, tr.topic.id))
    return trends
