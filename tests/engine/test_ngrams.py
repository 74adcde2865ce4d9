"""The numpy character n-gram TF-IDF (engine/ngrams.py) gives scikit-learn's rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from matcher.engine.lexical import _normalise
from matcher.engine.ngrams import CharTfidf

CORPUS = [
    "煤气化炉 耐火材料 寿命评估，现代煤化工装备",
    "钕铁硼永磁材料的晶界扩散工艺与矫顽力提升",
    "工业互联网平台 边缘计算 PLC 数据采集",
    "氢能储运：高压气态储氢、液氢与有机液体储氢",
    "Lithium-ion battery   thermal runaway; BMS 建模",
]
ODD = ["", "a", "ab", "煤", "  Hello\tWORLD  氢能\n\n储能  ", "没有任何已知的字", "ÀÉ 𠀀 emoji 🙂", "煤煤煤煤"]


@pytest.mark.parametrize(("ngram_range", "max_features"),
                         [((1, 3), None), ((1, 3), 60), ((2, 3), None), ((1, 1), None)])
def test_rows_equal_scikit_learns(ngram_range: tuple[int, int], max_features: int | None) -> None:
    vec = TfidfVectorizer(analyzer="char", ngram_range=ngram_range, sublinear_tf=True, dtype=np.float32,
                          max_features=max_features, preprocessor=_normalise).fit(CORPUS)
    fast = CharTfidf.of(vec)
    for texts in (CORPUS, ODD, CORPUS[::-1] + ODD):
        want, got = vec.transform(texts), fast.transform(texts)
        assert got.shape == want.shape and got.dtype == np.float32
        assert np.abs(got.toarray() - want.toarray()).max() < 1e-6
        assert got.has_sorted_indices


def test_an_empty_batch_and_a_text_with_no_known_gram() -> None:
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, dtype=np.float32,
                          preprocessor=_normalise).fit(CORPUS)
    fast = CharTfidf.of(vec)
    assert fast.transform([]).shape == (0, len(vec.idf_))
    assert fast.transform(["ΩΩΩ"]).nnz == 0


def test_grams_longer_than_a_key_holds_are_refused() -> None:
    with pytest.raises(ValueError, match="do not fit one key"):
        CharTfidf({"abcd": 0}, np.ones(1), (1, 4))
