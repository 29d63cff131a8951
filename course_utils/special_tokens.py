"""BERT's special tokens and their ids, shared by the course's WordPiece tokenizer and its DNA vocabularies.

``[PAD]`` fills short sequences, ``[UNK]`` stands for what the vocabulary cannot spell, ``[CLS]`` opens
every input (its final vector feeds the classifiers), ``[SEP]`` ends each segment, and ``[MASK]`` hides
the tokens that masked language modelling must guess. Every vocabulary of the course starts with them, in
this order, so their ids are the same everywhere.
"""

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = range(len(SPECIAL_TOKENS))
