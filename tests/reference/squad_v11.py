"""Reference oracle: the official SQuAD v1.1 evaluation (`evaluate-v1.1.py`), re-expressed.

Kept deliberately in the official script's shape (nested normalisation helpers applied as
lower -> punctuation -> articles -> whitespace, Counter-based F1 returning 0 on no overlap,
max over ground truths, a walk over data -> paragraphs -> qas that counts unanswered questions as 0
and says so on stderr, sums then x 100) and reading the raw SQuAD-format JSON itself, so that it
shares no code with `xadv.score` or `xadv.data`. One deviation from the script's `main`: TyDi QA
GoldP files carry no "version" key, so there is no version check here (the script's `evaluate`
function, the part that computes the numbers, has none either).
"""

import collections
import json
import re
import string
import sys


def normalize_answer(s):
    """Lower-case, drop ASCII punctuation, drop English articles, squeeze whitespace."""
    def lower(text):
        return text.lower()

    def remove_punc(text):
        punctuation = set(string.punctuation)
        return "".join(ch for ch in text if ch not in punctuation)

    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def f1_score(prediction, ground_truth):
    pred_toks = normalize_answer(prediction).split()
    gold_toks = normalize_answer(ground_truth).split()
    shared = collections.Counter(pred_toks) & collections.Counter(gold_toks)
    same = sum(shared.values())
    if same == 0:
        return 0
    precision = 1.0 * same / len(pred_toks)
    recall = 1.0 * same / len(gold_toks)
    return (2 * precision * recall) / (precision + recall)


def exact_match_score(prediction, ground_truth):
    return normalize_answer(prediction) == normalize_answer(ground_truth)


def metric_max_over_ground_truths(metric_fn, prediction, ground_truths):
    return max(metric_fn(prediction, gt) for gt in ground_truths)


def evaluate(dataset, predictions):
    """`dataset` is the JSON's "data" list; returns {"exact_match", "f1"} in points."""
    f1 = exact_match = total = 0
    for article in dataset:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                total += 1
                if qa["id"] not in predictions:
                    print("Unanswered question " + qa["id"] + " will receive score 0.",
                          file=sys.stderr)
                    continue
                ground_truths = [answer["text"] for answer in qa["answers"]]
                prediction = predictions[qa["id"]]
                exact_match += metric_max_over_ground_truths(exact_match_score, prediction,
                                                             ground_truths)
                f1 += metric_max_over_ground_truths(f1_score, prediction, ground_truths)
    return {"exact_match": 100.0 * exact_match / total, "f1": 100.0 * f1 / total}


def load_dataset(path):
    """The "data" list of a SQuAD-format file."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)["data"]
