"""Reference oracle: the official MLQA evaluation (`mlqa_evaluation_v1.py`, facebookresearch/MLQA), re-expressed.

Kept in the official script's shape and sharing no code with `xadv.score`, `xadv.langs` or `xadv.data`:
a module-level PUNCT set (every code point below `sys.maxunicode` whose `unicodedata` category starts
with "P", plus `string.punctuation`); `mixed_segmentation` (each character in U+4E00..U+9FA5 and each
PUNCT character is a segment of its own, the text between them is split on whitespace); a
`normalize_answer(s, lang)` applying lower -> remove PUNCT -> the language's article regex replaced by
a space -> whitespace tokens (whitespace languages en es hi vi de ar) or mixed segmentation (zh),
joined by one space, empty tokens dropped; an unknown language raises; Counter-based F1 returning 0 on
no overlap; EM as equality of normalised strings; max over ground truths; a walk over
data -> paragraphs -> qas that counts unanswered questions as 0 and says so on stderr; sums, then x 100.
The answer language is one value for the whole file, the script's `answer_language` argument.

Deviations, none of which changes a number: the Arabic pattern is written as a raw string (the
script's plain string '\\sال^|ال' is the same pattern, as `\\s` is not a string escape); the unknown
language error is a ValueError rather than a bare Exception; and `main`'s version check is left out
(XQuAD files carry version "1.1", the script only prints a warning and scores anyway).
"""

import collections
import json
import re
import string
import sys
import unicodedata

PUNCT = {chr(i) for i in range(sys.maxunicode)
         if unicodedata.category(chr(i)).startswith("P")}.union(string.punctuation)
WHITESPACE_LANGS = ["en", "es", "hi", "vi", "de", "ar"]
MIXED_SEGMENTATION_LANGS = ["zh"]


def whitespace_tokenize(text):
    return text.split()


def mixed_segmentation(text):
    """Chinese characters and punctuation become single segments; other runs split on whitespace."""
    segments = []
    pending = ""
    for ch in text:
        if re.search(r"[\u4e00-\u9fa5]", ch) or ch in PUNCT:
            if pending != "":
                segments.extend(whitespace_tokenize(pending))
                pending = ""
            segments.append(ch)
        else:
            pending += ch
    if pending != "":
        segments.extend(whitespace_tokenize(pending))
    return segments


def normalize_answer(s, lang):
    """Lower-case, drop Unicode punctuation, drop the language's articles, re-tokenise."""
    def remove_articles(text, lang):
        if lang == "en":
            return re.sub(r"\b(a|an|the)\b", " ", text)
        if lang == "es":
            return re.sub(r"\b(un|una|unos|unas|el|la|los|las)\b", " ", text)
        if lang == "hi":
            return text
        if lang == "vi":
            return re.sub(r"\b(của|là|cái|chiếc|những)\b", " ", text)
        if lang == "de":
            return re.sub(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b", " ", text)
        if lang == "ar":
            return re.sub(r"\sال^|ال", " ", text)
        if lang == "zh":
            return text
        raise ValueError("Unknown Language {}".format(lang))

    def white_space_fix(text, lang):
        if lang in WHITESPACE_LANGS:
            tokens = whitespace_tokenize(text)
        elif lang in MIXED_SEGMENTATION_LANGS:
            tokens = mixed_segmentation(text)
        else:
            raise ValueError("Unknown Language {}".format(lang))
        return " ".join(t for t in tokens if t.strip() != "")

    def remove_punc(text):
        return "".join(ch for ch in text if ch not in PUNCT)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s)), lang), lang)


def f1_score(prediction, ground_truth, lang):
    pred_toks = normalize_answer(prediction, lang).split()
    gold_toks = normalize_answer(ground_truth, lang).split()
    shared = collections.Counter(pred_toks) & collections.Counter(gold_toks)
    same = sum(shared.values())
    if same == 0:
        return 0
    precision = 1.0 * same / len(pred_toks)
    recall = 1.0 * same / len(gold_toks)
    return (2 * precision * recall) / (precision + recall)


def exact_match_score(prediction, ground_truth, lang):
    return normalize_answer(prediction, lang) == normalize_answer(ground_truth, lang)


def metric_max_over_ground_truths(metric_fn, prediction, ground_truths, lang):
    return max(metric_fn(prediction, gt, lang) for gt in ground_truths)


def evaluate(dataset, predictions, lang):
    """`dataset` is the JSON's "data" list, `lang` the answer language; returns {"exact_match", "f1"}."""
    f1 = exact_match = total = 0
    for article in dataset:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                total += 1
                if qa["id"] not in predictions:
                    print("Unanswered question " + qa["id"] + " will receive score 0.", file=sys.stderr)
                    continue
                ground_truths = [answer["text"] for answer in qa["answers"]]
                prediction = predictions[qa["id"]]
                exact_match += metric_max_over_ground_truths(exact_match_score, prediction, ground_truths, lang)
                f1 += metric_max_over_ground_truths(f1_score, prediction, ground_truths, lang)
    return {"exact_match": 100.0 * exact_match / total, "f1": 100.0 * f1 / total}


def load_dataset(path):
    """The "data" list of a SQuAD-format file."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)["data"]
