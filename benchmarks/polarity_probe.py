"""Does a pretrained checkpoint know which opinion words are positive and which negative?

Two probes on the sentiment task's opinion words (`world.POSITIVE_WORDS`, `world.NEGATIVE_WORDS`, those
that are one token):

1. the mean cosine similarity of their input embeddings, within a polarity and across;
2. a logistic regression on the encoder's mean vector of "the food was X." that must tell the polarity
   of a word it was not fitted on (leave one word out). 0.5 is chance.

    python benchmarks/polarity_probe.py [--checkpoint FOLDER]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

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
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default=str(PRETRAINED_DIR))
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(json.dumps(probe(args.checkpoint), indent=1))
