#!/usr/bin/python3
"""Plot held-out accuracy against training minutes from train_recipe --csv files.

    bench/plot_curve.py -o docs/img/sudoku20_curve.png run1.csv [run2.csv ...]
        [--title TEXT] [--label run1.csv=NAME ...] [--steps]

Each CSV has the columns train_recipe writes (tag, minutes, steps, train_loss,
train_token_acc, eval_exact, eval_token, ...).  Exact accuracy is drawn as
solid lines, token accuracy as dashed lines on the same 0-100 % axis; --steps
puts training steps on the x axis instead of minutes.
"""
import argparse
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(path):
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            rows.append(r)
    if not rows:
        sys.exit(f"{path}: no rows")
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv", nargs="+")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--title", default="Sudoku, 20 blanks: held-out accuracy (1000 generated puzzles)")
    ap.add_argument("--label", action="append", default=[], help="FILE=NAME")
    ap.add_argument("--steps", action="store_true", help="x axis: training steps")
    ap.add_argument("--cpu", action="store_true", help="x axis: CPU minutes of the training process")
    ap.add_argument("--no-token", action="store_true", help="draw exact accuracy only")
    ap.add_argument("--givens", type=float, default=61.0, help="givens per puzzle for the copy line (0 = none)")
    ap.add_argument("--copy-token", type=float, default=0.0,
                    help="token accuracy (%%) of copying the input, drawn instead of the givens line")
    ap.add_argument("--target", type=float, default=50.0, help="horizontal target line (%%); 0 = none")
    ap.add_argument("--legend", default="lower right", help="legend position (matplotlib loc)")
    ap.add_argument("--ymin", type=float, default=0.0, help="bottom of the accuracy axis (%%)")
    a = ap.parse_args()
    names = dict(x.split("=", 1) for x in a.label)

    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for i, path in enumerate(a.csv):
        rows = read(path)
        name = names.get(path, rows[0]["tag"])
        col = "steps" if a.steps else ("cpu_minutes" if a.cpu else "minutes")
        xs = [float(r[col]) for r in rows]
        ex = [100 * float(r["eval_exact"]) for r in rows]
        tok = [100 * float(r["eval_token"]) for r in rows]
        color = f"C{i}"
        ax.plot(xs, ex, "-o", color=color, ms=3, label=f"{name}: exact")
        if not a.no_token:
            ax.plot(xs, tok, "--", color=color, alpha=0.6, label=f"{name}: token")
    if a.target > 0:
        ax.axhline(a.target, color="grey", lw=0.8, ls=":")
    if a.copy_token > 0 and not a.no_token:
        ax.axhline(a.copy_token, color="grey", lw=0.8, ls="-.", label="copy the input (token)")
    elif a.givens > 0 and not a.no_token:
        ax.axhline(100 * a.givens / 81, color="grey", lw=0.8, ls="-.", label="copy the givens (token)")
    ax.set_xlabel("training steps" if a.steps else
                  ("training CPU minutes (one thread)" if a.cpu else "training minutes (wall clock, 2-core machine)"))
    ax.set_ylabel("held-out accuracy (%)")
    ax.set_ylim(a.ymin, 100)
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.set_title(a.title, fontsize=10)
    ax.legend(fontsize=8, loc=a.legend)
    fig.tight_layout()
    fig.savefig(a.output)
    print(f"wrote {a.output}")


if __name__ == "__main__":
    main()
