"""Draw img/fig_06_bert_input.png: BERT's input embedding = token + segment + position, for a sentence pair.

The tokens and segment ids are computed with the shipped course tokenizer. Run from the repository root:
python img/fig_06_bert_input.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

from course_utils.tokenizer import load_tokenizer  # noqa: E402

OUT = Path(__file__).with_suffix(".png")
FIRST, SECOND = "Mia fed the goats.", "It started to rain."
COLORS = {"token": "#fde9c9", "A": "#dbe9f6", "B": "#f6dbe6", "position": "#e4e4e4", "special": "#d5ecd4"}


def box(ax, x, y, text, color, w=0.92, h=0.5, size=9.5):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02", fc=color, ec="grey"))
    ax.text(x, y, text, ha="center", va="center", fontsize=size, family="monospace")


def main() -> None:
    tok = load_tokenizer()
    enc = tok(FIRST, SECOND)
    tokens = tok.convert_ids_to_tokens(enc["input_ids"])
    segments = enc["token_type_ids"]
    T = len(tokens)

    fig, ax = plt.subplots(figsize=(12, 4.6))
    ax.set_xlim(-1.6, T + 0.2)
    ax.set_ylim(-0.1, 5.3)
    ax.axis("off")
    rows = {"input": 4.7, "token": 3.6, "segment": 2.5, "position": 1.4}
    labels = {
        "input": "input",
        "token": "token\nembeddings",
        "segment": "segment\nembeddings",
        "position": "position\nembeddings",
    }
    for name, y in rows.items():
        ax.text(-1.5, y, labels[name], fontsize=10, color="dimgrey", va="center")
    for t, (token, segment) in enumerate(zip(tokens, segments)):
        x = t + 0.5
        special = token in ("[CLS]", "[SEP]")
        box(ax, x, rows["input"], token, COLORS["special"] if special else "white")
        box(ax, x, rows["token"], f"E[{token}]", COLORS["token"], size=8)
        box(ax, x, rows["segment"], "E_A" if segment == 0 else "E_B", COLORS["A" if segment == 0 else "B"])
        box(ax, x, rows["position"], f"E_{t}", COLORS["position"])
        for y in (rows["token"], rows["segment"]):
            ax.text(x, y - 0.55, "+", ha="center", va="center", fontsize=11)
    ax.text(
        T / 2,
        0.45,
        "sum per token (H numbers each)  →  LayerNorm  →  dropout  →  the first encoder layer",
        ha="center",
        fontsize=11,
    )
    ax.text(
        T / 2,
        0.02,
        "segment 0 = [CLS] A [SEP],  segment 1 = B [SEP];  positions count from 0 across both sentences",
        ha="center",
        fontsize=9.5,
        color="dimgrey",
    )
    fig.tight_layout()
    fig.savefig(OUT, dpi=110, metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    main()
