"""Does a pretrained checkpoint know which opinion words are positive and which negative?

Three probes on the sentiment task's opinion words (`world.POSITIVE_WORDS`, `world.NEGATIVE_WORDS`, those
that are one token):

1. the mean cosine similarity of their input embeddings, within a polarity and across;
2. a logistic regression on the encoder's mean vector of "the food was X." that must tell the polarity
   of a word it was not fitted on (leave one word out). 0.5 is chance;
3. does masked language modelling use the context? After two plain remarks of one polarity ("The soup
   was great. The staff was nice. The view was [MASK]."), the ratio of the probability the MLM head
   puts on positive and on negative words should be higher after positive remarks: the area under the
   ROC curve of that ratio over 200 such texts (0.5: the context is ignored; 1.0: always followed).

    python benchmarks/polarity_probe.py [--checkpoint FOLDER]
"""

from __future__ import annotations

import argparse
import json
import random

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from course_utils import world
from course_utils.model import BertForPreTraining
from course_utils.pretrain import PRETRAINED_DIR
from course_utils.tokenizer import load_tokenizer


def probe(checkpoint) -> dict[str, float]:
    tokenizer = load_tokenizer(checkpoint)
    model = BertForPreTraining.from_pretrained(checkpoint).eval()
    embeddings = model.bert.embeddings.word_embeddings.weight.detach()

    def one_token(word: str) -> int | None:
        ids = tokenizer(word, add_special_tokens=False)["input_ids"]
        return ids[0] if len(ids) == 1 else None

    words = [(w, 1) for w in world.POSITIVE_WORDS if one_token(w) is not None]
    words += [(w, 0) for w in world.NEGATIVE_WORDS if one_token(w) is not None]
    unit = torch.nn.functional.normalize(torch.stack([embeddings[one_token(w)] for w, _ in words]), dim=1)
    polarity = torch.tensor([y for _, y in words])
    cosine = unit @ unit.T
    same, pos, neg = polarity[:, None] == polarity[None, :], polarity == 1, polarity == 0
    result = {
        "words": len(words),
        "cosine_positive_positive": float(cosine[pos][:, pos].mean()),
        "cosine_negative_negative": float(cosine[neg][:, neg].mean()),
        "cosine_across": float(cosine[~same].mean()),
    }
    with torch.no_grad():
        features = np.stack(
            [
                model.bert(**tokenizer(f"the food was {w}.", return_tensors="pt"))
                .last_hidden_state[0]
                .mean(0)
                .numpy()
                for w, _ in words
            ]
        )
    labels = polarity.numpy()
    hits = []
    for i in range(len(words)):
        keep = np.arange(len(words)) != i
        classifier = LogisticRegression(max_iter=2000).fit(features[keep], labels[keep])
        hits.append(classifier.predict(features[i : i + 1])[0] == labels[i])
    result["leave_one_word_out_accuracy"] = float(np.mean(hits))
    result["context_auc"] = context_auc(model, tokenizer)
    return result


@torch.no_grad()
def context_auc(model, tokenizer, texts: int = 200, seed: int = 0) -> float:
    """Probe 3: AUC of log P(positive words) / P(negative words) at a [MASK] after two plain remarks."""
    ids = {
        polarity: [tokenizer.convert_tokens_to_ids(w) for w in words if len(tokenizer.tokenize(w)) == 1]
        for polarity, words in ((1, world.POSITIVE_WORDS), (0, world.NEGATIVE_WORDS))
    }
    aspects = [aspect for aspect, verb in world.sentiment.ASPECTS if verb == "was"]
    rng = random.Random(seed)
    scores, labels = [], []
    for n in range(texts):
        polarity = n % 2
        words = world.POSITIVE_WORDS if polarity else world.NEGATIVE_WORDS
        remarks = " ".join(f"The {rng.choice(aspects)} was {rng.choice(words)}." for _ in range(2))
        enc = tokenizer(
            f"{remarks} The {rng.choice(aspects)} was {tokenizer.mask_token}.", return_tensors="pt"
        )
        logits = model(**enc).prediction_logits[enc["input_ids"] == tokenizer.mask_token_id][0]
        p = logits.softmax(-1)
        scores.append(float((p[ids[1]].sum() / p[ids[0]].sum()).log()))
        labels.append(polarity)
    return float(roc_auc_score(labels, scores))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default=str(PRETRAINED_DIR))
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(json.dumps(probe(args.checkpoint), indent=1))
