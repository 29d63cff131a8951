"""What does a pretrained checkpoint know about opinion words, and from how far away does it learn?

Probes on the sentiment task's opinion words (`world.POSITIVE_WORDS`, `world.NEGATIVE_WORDS`, those that
are one token):

1. ``embedding_probe_accuracy``: can the polarity of a word be read from its input embedding? A logistic
   regression is fitted on four fifths of the words and scored on the other fifth (5 folds, stratified).
   0.5 is chance. The mean cosine similarity within a polarity and across is reported beside it.
2. ``sentence_probe_accuracy``: the same on the encoder's mean vector of "the food was X.".
3. ``neighbour_accuracy``: a cue right NEXT to the word. In "The soup was [MASK] X." does the MLM head
   put more probability on the corpus's glad adverbs ("wonderfully", ...) than on its sad ones
   ("terribly", ...) exactly when X is positive? Share of the opinion words where it does.
4. ``context_auc``: cues FURTHER away. After two remarks of one polarity ("The soup was great. The staff
   was nice. The view was [MASK]."), is the ratio of probability on positive and negative words higher
   after positive remarks? Area under the ROC curve over 200 such texts (0.5: the context is ignored).
5. ``pronoun_agreement``: the same question outside reviews, two words back. In "There she met [MASK]
   uncle." and "There he met [MASK] uncle." (100 story sentences each), the share where the agreeing
   "her" / "his" is the likelier of the two (0.5: the pronoun is ignored).
6. ``name_copying``: a name copied from the sentence before, as the pair task needs (is the hypothesis'
   name the premise's?). In "Ari gave Sam a map. So [MASK] got the map from Ari." (and the giver masked
   at the end, 100 texts each, as the corpus's diaries retell gifts), the share where the right name is
   the likeliest of the one-token names (``name_copying_chance``: one over their number).

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
from sklearn.model_selection import StratifiedKFold, cross_val_score

from course_utils import world
from course_utils.model import BertForPreTraining
from course_utils.pretrain import PRETRAINED_DIR
from course_utils.tokenizer import load_tokenizer
from course_utils.world.corpus import _GLAD_ADVERBS, _SAD_ADVERBS


def _one_token_ids(tokenizer, words) -> list[int]:
    return [tokenizer.convert_tokens_to_ids(w) for w in words if tokenizer.tokenize(w) == [w]]


@torch.no_grad()
def _mask_probabilities(model, tokenizer, text: str) -> torch.Tensor:
    enc = tokenizer(text, return_tensors="pt")
    logits = model(**enc).prediction_logits[enc["input_ids"] == tokenizer.mask_token_id][0]
    return logits.softmax(-1)


@torch.no_grad()
def probe(checkpoint) -> dict[str, float]:
    tokenizer = load_tokenizer(checkpoint)
    model = BertForPreTraining.from_pretrained(checkpoint).eval()
    embeddings = model.bert.embeddings.word_embeddings.weight
    words = [(w, 1) for w in world.POSITIVE_WORDS if tokenizer.tokenize(w) == [w]]
    words += [(w, 0) for w in world.NEGATIVE_WORDS if tokenizer.tokenize(w) == [w]]
    ids = [tokenizer.convert_tokens_to_ids(w) for w, _ in words]
    labels = np.array([y for _, y in words])
    vectors = embeddings[ids]
    unit = torch.nn.functional.normalize(vectors, dim=1)
    cosine = (unit @ unit.T).numpy()
    same, pos, neg = labels[:, None] == labels[None, :], labels == 1, labels == 0
    folds = StratifiedKFold(5, shuffle=True, random_state=0)

    def fold_accuracy(features: np.ndarray) -> float:
        return float(cross_val_score(LogisticRegression(max_iter=2000), features, labels, cv=folds).mean())

    sentences = np.stack(
        [
            model.bert(**tokenizer(f"the food was {w}.", return_tensors="pt")).last_hidden_state[0].mean(0)
            for w, _ in words
        ]
    )
    glad, sad = _one_token_ids(tokenizer, _GLAD_ADVERBS), _one_token_ids(tokenizer, _SAD_ADVERBS)
    neighbour = []
    for w, y in words:
        p = _mask_probabilities(model, tokenizer, f"The soup was {tokenizer.mask_token} {w}.")
        neighbour.append((p[glad].sum() > p[sad].sum()) == bool(y))
    return {
        "words": len(words),
        "cosine_positive_positive": float(cosine[pos][:, pos].mean()),
        "cosine_negative_negative": float(cosine[neg][:, neg].mean()),
        "cosine_across": float(cosine[~same].mean()),
        "embedding_probe_accuracy": fold_accuracy(vectors.numpy()),
        "sentence_probe_accuracy": fold_accuracy(sentences),
        "neighbour_accuracy": float(np.mean(neighbour)) if glad and sad else float("nan"),
        "context_auc": context_auc(model, tokenizer),
        "pronoun_agreement": pronoun_agreement(model, tokenizer),
        **name_copying(model, tokenizer),
    }


@torch.no_grad()
def context_auc(model, tokenizer, texts: int = 200, seed: int = 0) -> float:
    """Probe 4: AUC of log P(positive words) / P(negative words) at a [MASK] after two plain remarks."""
    ids = {
        1: _one_token_ids(tokenizer, world.POSITIVE_WORDS),
        0: _one_token_ids(tokenizer, world.NEGATIVE_WORDS),
    }
    aspects = [aspect for aspect, verb in world.sentiment.ASPECTS if verb == "was"]
    rng = random.Random(seed)
    scores, labels = [], []
    for n in range(texts):
        polarity = n % 2
        words = world.POSITIVE_WORDS if polarity else world.NEGATIVE_WORDS
        remarks = " ".join(f"The {rng.choice(aspects)} was {rng.choice(words)}." for _ in range(2))
        p = _mask_probabilities(
            model, tokenizer, f"{remarks} The {rng.choice(aspects)} was {tokenizer.mask_token}."
        )
        scores.append(float((p[ids[1]].sum() / p[ids[0]].sum()).log()))
        labels.append(polarity)
    return float(roc_auc_score(labels, scores))


@torch.no_grad()
def pronoun_agreement(model, tokenizer, texts: int = 100, seed: int = 0) -> float:
    """Probe 5: share of "There she/he met [MASK] uncle." where the agreeing her/his is the likelier."""
    her, his = tokenizer.convert_tokens_to_ids(["her", "his"])
    rng = random.Random(seed)
    places = ("castle", "market", "harbor", "museum", "farm", "library")
    relatives = ("uncle", "aunt", "cousin", "neighbor", "friend", "teacher")
    hits = []
    for _ in range(texts):
        name, place, relative = (
            rng.choice(world.FEMALE_NAMES + world.MALE_NAMES),
            rng.choice(places),
            rng.choice(relatives),
        )
        for pronoun, right, wrong in (("she", her, his), ("he", his, her)):
            text = f"One morning, {name} walked to the {place}. There {pronoun} met {tokenizer.mask_token} {relative}."
            p = _mask_probabilities(model, tokenizer, text)
            hits.append(bool(p[right] > p[wrong]))
    return float(np.mean(hits))


@torch.no_grad()
def name_copying(model, tokenizer, texts: int = 100, seed: int = 0) -> dict[str, float]:
    """Probe 6: share of retold gifts where the masked name is the likeliest name, and chance."""
    names = [n for n in world.FEMALE_NAMES + world.MALE_NAMES if len(tokenizer.tokenize(n)) == 1]
    name_ids = [tokenizer.convert_tokens_to_ids(tokenizer.tokenize(n)[0]) for n in names]
    items = [item for item in world.ITEMS if len(tokenizer.tokenize(item)) == 1]
    rng = random.Random(seed)
    mask, hits = tokenizer.mask_token, []
    for _ in range(texts):
        giver, receiver = rng.sample(names, 2)
        item = rng.choice(items)
        told = f"{giver} gave {receiver} a {item}."
        for right, text in (
            (receiver, f"{told} So {mask} got the {item} from {giver}."),
            (giver, f"{told} So {receiver} got the {item} from {mask}."),
        ):
            p = _mask_probabilities(model, tokenizer, text)
            hits.append(names[int(p[name_ids].argmax())] == right)
    return {"name_copying": float(np.mean(hits)), "name_copying_chance": 1 / len(names)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default=str(PRETRAINED_DIR))
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(json.dumps(probe(args.checkpoint), indent=1))
