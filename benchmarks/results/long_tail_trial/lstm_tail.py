import sys, time; sys.path.insert(0,'.')
N=int(sys.argv[1]); s=float(sys.argv[2]); seed=int(sys.argv[3]) if len(sys.argv)>3 else 0
import torch; torch.set_num_threads(1)
from course_utils.world import sentiment as S
from course_utils import world
if N:
    S.POSITIVE_WORDS = tuple(f"pos{i}" for i in range(N)); S.NEGATIVE_WORDS = tuple(f"neg{i}" for i in range(N))
    S._OPINION_WEIGHTS = tuple(1/(r+2)**s for r in range(N)); S._reviews.cache_clear()
import pretraining_value as pv
t=time.time()
tr, va, te = (S.sentiment_reviews(x) for x in ("train","validation","test"))
print(N, s, seed, "LSTM all", pv.run_lstm(tr, va, te, seed, 2), "bow", pv.run_bag_of_words(tr,va,te,seed), round(time.time()-t))
