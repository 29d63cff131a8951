"""Draw img/fig_06_wordpiece_pipeline.png: one sentence through the course tokenizer, stage by stage.

Every stage is computed with the shipped course tokenizer (normaliser, pre-tokenizer, WordPiece, template),
so the figure shows what the library really does. Run from the repository root:
python img/fig_06_wordpiece_pipeline.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

from course_utils.tokenizer import load_tokenizer  # noqa: E402

OUT = Path(__file__).with_suffix(".png")
TEXT = "The Café in Riverton was unbelievably busy!"
COLORS = {"word": "#dbe9f6", "piece": "#fde9c9", "special": "#d5ecd4"}


def box_width(text: str) -> float:
    return max(0.5, 0.105 * len(text) + 0.23)


def row(ax, y, label, items, kinds, widths=None):
    """One stage: a grey label on the left, then one box per item (``widths`` default: from the text)."""
    ax.text(0.05, y, label, fontsize=10, color="grey", va="center")
    x = 2.0
    for item, kind, w in zip(items, kinds, widths or [box_width(i) for i in items]):
        ax.add_patch(
            FancyBboxPatch((x, y - 0.22), w, 0.44, boxstyle="round,pad=0.02", fc=COLORS[kind], ec="grey")
        )
        ax.text(x + w / 2, y, item, ha="center", va="center", fontsize=9.5, family="monospace")
        x += w + 0.08
    return x


def main() -> None:
    tok = load_tokenizer()
    backend = tok.backend_tokenizer
    normalized = backend.normalizer.normalize_str(TEXT)
    words = [w for w, _ in backend.pre_tokenizer.pre_tokenize_str(normalized)]
    enc = tok(TEXT)
    pieces = tok.convert_ids_to_tokens(enc["input_ids"])
    ids = [str(i) for i in enc["input_ids"]]

    fig, ax = plt.subplots(figsize=(12, 4.3))
    ax.set_xlim(0, 14.5)
    ax.set_ylim(0, 5.2)
    ax.axis("off")
    ax.text(0.05, 4.7, "text", fontsize=10, color="grey", va="center")
    ax.text(2.0, 4.7, f'"{TEXT}"', fontsize=12, va="center")
    ax.text(0.05, 3.95, "1) normalise", fontsize=10, color="grey", va="center")
    ax.text(2.0, 3.95, f'"{normalized}"   (lower case, accents stripped)', fontsize=12, va="center")
    row(ax, 3.1, "2) pre-tokenise", words, ["word"] * len(words))
    kinds = ["special" if p in ("[CLS]", "[SEP]") else "piece" for p in pieces]
    row(ax, 2.15, "3) WordPiece\n4) [CLS] ... [SEP]", pieces, kinds)
    row(ax, 1.2, "5) ids", ids, kinds, [box_width(p) for p in pieces])  # under their pieces
    ax.text(
        2.0,
        0.45,
        "'##' marks a piece that continues a word; each word is cut greedily into the longest pieces the "
        f"vocabulary has ({len(tok):,} tokens)",
        fontsize=10,
        color="dimgrey",
    )
    fig.tight_layout()
    fig.savefig(OUT, dpi=110, metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    main()
