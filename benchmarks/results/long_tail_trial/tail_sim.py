import sys, re
from course_utils.world import sentiment as S
def run(N, s=1.0, off=2):
    S.POSITIVE_WORDS = tuple(f"pos{i}" for i in range(N))
    S.NEGATIVE_WORDS = tuple(f"neg{i}" for i in range(N))
    S._OPINION_WEIGHTS = tuple(1/(r+off)**s for r in range(N))
    S._reviews.cache_clear()
    tr,_ = S.sentiment_reviews("train"); te,_ = S.sentiment_reviews("test")
    seen = set(w for t in tr for w in re.findall(r"\b(?:pos|neg)\d+", t))
    from collections import Counter
    cnt = Counter(w for t in tr for w in re.findall(r"\b(?:pos|neg)\d+", t))
    anyun = sum(any(w not in seen for w in re.findall(r"\b(?:pos|neg)\d+", t)) for t in te)/len(te)
    rare = sum(any(cnt[w] < 3 for w in re.findall(r"\b(?:pos|neg)\d+", t)) for t in te)/len(te)
    return len(seen), anyun, rare
for N in (48, 100, 150, 200, 300):
    for s in (1.0,):
        print(N, s, run(N, s))
