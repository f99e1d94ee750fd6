#!/usr/bin/python3
"""Draw a model's training curves from hrm.training_log as a PNG (or SVG, PDF).

    tools/plot_training.py MODEL -o curve.png [--job N|all] [--steps] [--title TEXT]
        [-d CONNINFO]                    read hrm.training_log through psql
    tools/plot_training.py --csv log.csv -o curve.png [...]
                                         read a CSV exported from it, e.g.
        \\copy (SELECT * FROM hrm.training_log WHERE model = 'm' ORDER BY job, step) TO 'log.csv' CSV HEADER

Two panels: the training loss (log scale), and the accuracies -- training
token and exact accuracy (the means hrm_train logs every log_every) and, at
each checkpoint, held-out exact and token accuracy.  The x axis is training
minutes (train_seconds: the time max_minutes counts, without checkpoints)
or, with --steps, training steps.  Without --job the model's latest job is
drawn; --job all draws every job of the model in step order (a resumed run
continues its steps).

psql mode runs `psql -X` with the usual PG* environment (or -d CONNINFO),
so it needs the psql client and read access to hrm.training_log (granted
to PUBLIC).  Needs python3-matplotlib (bash tools/install_deps.sh docs).
"""
import argparse
import csv
import io
import subprocess
import sys

COLUMNS = ["job", "model", "step", "elapsed", "train_seconds", "examples", "loss", "accuracy",
           "exact_accuracy", "lr", "epochs", "examples_per_second", "eval_exact_accuracy",
           "eval_token_accuracy", "checkpoint"]


def read_psql(model, conninfo):
    """The model's rows of hrm.training_log as CSV text, through psql."""
    sql = ("COPY (SELECT %s FROM hrm.training_log WHERE model = :'model' ORDER BY job, step) "
           "TO STDOUT WITH (FORMAT csv, HEADER true)\n") % ", ".join(COLUMNS)
    cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "model=" + model]
    if conninfo:
        cmd += ["-d", conninfo]
    try:
        r = subprocess.run(cmd, input=sql, capture_output=True, text=True)
    except FileNotFoundError:
        sys.exit("plot_training.py: psql not found (install postgresql-client, or use --csv)")
    if r.returncode != 0:
        sys.exit("plot_training.py: psql failed: " + r.stderr.strip())
    return r.stdout


def num(v):
    return None if v in (None, "") else float(v)


def parse(text, source):
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        sys.exit(f"plot_training.py: no rows in {source}")
    missing = [c for c in ("job", "step", "train_seconds", "loss", "accuracy", "exact_accuracy",
                           "eval_exact_accuracy", "eval_token_accuracy") if c not in rows[0]]
    if missing:
        sys.exit(f"plot_training.py: {source} lacks the columns {', '.join(missing)} of hrm.training_log")
    return rows


def select_job(rows, job):
    jobs = sorted({int(r["job"]) for r in rows})
    if job == "all":
        return rows, jobs
    want = jobs[-1] if job is None else int(job)
    if want not in jobs:
        sys.exit(f"plot_training.py: no job {want} (jobs: {', '.join(map(str, jobs))})")
    return [r for r in rows if int(r["job"]) == want], [want]


def main():
    ap = argparse.ArgumentParser(description="Plot hrm.training_log curves.")
    ap.add_argument("model", nargs="?", help="model name (read hrm.training_log through psql)")
    ap.add_argument("--csv", help="read this CSV export of hrm.training_log instead of psql")
    ap.add_argument("-d", "--dbname", help="psql connection string or database name")
    ap.add_argument("-o", "--output", required=True, help="image file (.png, .svg, .pdf)")
    ap.add_argument("--job", help="job id, or 'all' (default: the latest job)")
    ap.add_argument("--steps", action="store_true", help="x axis: training steps instead of minutes")
    ap.add_argument("--title", help="figure title (default: model and job)")
    ap.add_argument("--dpi", type=int, default=100)
    a = ap.parse_args()
    if (a.model is None) == (a.csv is None):
        ap.error("give a MODEL (read through psql) or --csv FILE")

    if a.csv:
        with open(a.csv, newline="") as f:
            rows = parse(f.read(), a.csv)
    else:
        rows = parse(read_psql(a.model, a.dbname), f"hrm.training_log for model {a.model!r}")
    rows, jobs = select_job(rows, a.job)
    rows.sort(key=lambda r: (int(r["job"]), int(r["step"])))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # minutes of training, continued across jobs when several are drawn
    xs, offset, last_job, last_t = [], 0.0, None, 0.0
    for r in rows:
        if a.steps:
            xs.append(float(r["step"]))
            continue
        t = float(r["train_seconds"] or 0) / 60
        if last_job is not None and int(r["job"]) != last_job:
            offset += last_t
        last_job, last_t = int(r["job"]), t
        xs.append(offset + t)

    def series(col, scale=1.0):
        pts = [(x, num(r[col])) for x, r in zip(xs, rows)]
        pts = [(x, y * scale) for x, y in pts if y is not None]
        return [p[0] for p in pts], [p[1] for p in pts]

    model = rows[0].get("model") or a.model or "model"
    title = a.title or f"{model}: hrm_train job {', '.join(map(str, jobs))}"
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), dpi=a.dpi)

    x, y = series("loss")
    ax1.plot(x, y, "-", color="C0", lw=1.5, label="training loss")
    ax1.set_yscale("log")
    ax1.set_ylabel("loss (log scale)")
    ax1.set_title("training loss", fontsize=10)

    x, y = series("accuracy", 100)
    ax2.plot(x, y, "-", color="C0", lw=1.2, alpha=0.7, label="train: token")
    x, y = series("exact_accuracy", 100)
    ax2.plot(x, y, "-", color="C1", lw=1.2, alpha=0.7, label="train: exact")
    x, y = series("eval_token_accuracy", 100)
    if x:
        ax2.plot(x, y, "--o", color="C2", ms=4, label="held-out: token")
    x, y = series("eval_exact_accuracy", 100)
    if x:
        ax2.plot(x, y, "-o", color="C3", ms=4, label="held-out: exact")
    ax2.set_ylim(0, 100)
    ax2.set_ylabel("accuracy (%)")
    ax2.set_title("accuracy", fontsize=10)
    ax2.legend(fontsize=8, loc="lower right")

    for ax in (ax1, ax2):
        ax.set_xlabel("training steps" if a.steps else "training minutes (train_seconds / 60)")
        ax.set_xlim(left=0)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(a.output)
    last = rows[-1]
    print(f"wrote {a.output}: {len(rows)} rows of job {', '.join(map(str, jobs))}, last step {last['step']}, "
          f"loss {float(last['loss']):.4f}")


if __name__ == "__main__":
    main()
