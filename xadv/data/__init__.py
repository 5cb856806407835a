"""The data layer: SQuAD-format QA files, sentence-pair TSVs, dataset names, downloads, validation.

    from xadv.data import load_qa, gold_answers
    ds = load_qa("tydiqa:all:dev", data_dir="../shared/data")   # 5,077 rows, `lang` column set
    gold = gold_answers(ds)                                      # {id: [answer texts]}

Importing this package is cheap: `datasets` is imported only when a Dataset is built.
"""

from xadv.data.download import download_tydiqa
from xadv.data.inventory import list_data, verify_data
from xadv.data.load import load_pairs, load_qa
from xadv.data.names import ResolvedFile, available, parse_name, resolve
from xadv.data.pairs import LABEL_NAMES, read_pairs
from xadv.data.squad import (
    QA_COLUMNS,
    check_answer,
    gold_answers,
    qa_features,
    read_squad,
    to_squad,
    write_squad,
)

__all__ = [
    "LABEL_NAMES",
    "QA_COLUMNS",
    "ResolvedFile",
    "available",
    "check_answer",
    "download_tydiqa",
    "gold_answers",
    "list_data",
    "load_pairs",
    "load_qa",
    "parse_name",
    "qa_features",
    "read_pairs",
    "read_squad",
    "resolve",
    "to_squad",
    "verify_data",
    "write_squad",
]
