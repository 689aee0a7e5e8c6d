#!/usr/bin/env python3
"""Turns categories of Debian's `fortunes` package into AG_News-format CSVs.

Each category file in /usr/share/games/fortunes/ holds texts separated by
lines that are a lone "%". Every text of the chosen categories becomes one
row `"<class index>","<first line>","<the other lines>"`: class indices 1..C
in the order the categories are given, quotes doubled, newlines written as
`\\n` and backslashes as `\\\\`, exactly as AG_News's train.csv and test.csv
are written. A fixed seed splits each category alike (80/20 by default), so
train.csv and test.csv have the same class balance, and the same command
always writes the same files.

    python3 scripts/make_fortunes_csv.py                      # data/fortunes/{train,test}.csv
    python3 scripts/make_fortunes_csv.py --categories computers,politics,science,songs-poems \
        --out data/fortunes --test-fraction 0.2 --seed 1

Needs only the standard library and `apt-get install fortunes`
(scripts/setup.sh installs it). Exit status 2 with one sentence when a
category is missing or has fewer texts than --min-texts.
"""

import argparse
import os
import random
import re
import sys

DEFAULT_CATEGORIES = ["computers", "politics", "science", "songs-poems"]
FORTUNES_DIR = "/usr/share/games/fortunes"
# Overstriking (x BACKSPACE x for bold, _ BACKSPACE x for underline) from the
# days of line printers: keep the letter that was printed last.
OVERSTRIKE = re.compile(r".\x08")
# Other control characters (a terminal bell, a stray backspace) are no text.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def read_texts(path):
    """The texts of one fortunes file: blocks between lines that are a lone "%"."""
    with open(path, "rb") as handle:
        raw = handle.read().decode("utf-8", errors="replace")
    texts, block = [], []
    for line in raw.splitlines():
        if line.strip() == "%":
            texts.append(block)
            block = []
        else:
            block.append(CONTROL.sub("", OVERSTRIKE.sub("", line)).rstrip())
    texts.append(block)
    cleaned = []
    for lines in texts:
        while lines and not lines[0].strip():
            lines = lines[1:]
        while lines and not lines[-1].strip():
            lines = lines[:-1]
        if lines:
            cleaned.append(lines)
    return cleaned


def field(text):
    """One quoted AG_News field: backslashes doubled, newlines as \\n, quotes doubled."""
    escaped = text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '""')
    return '"' + escaped + '"'


def row(label, lines):
    """A row: the class index, the first line as the title, the rest as the description."""
    title = lines[0].strip()
    description = "\n".join(line.strip() for line in lines[1:])
    return ",".join([field(str(label)), field(title), field(description)]) + "\n"


def fail(message):
    print(f"make_fortunes_csv: {message}", file=sys.stderr)
    sys.exit(2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--categories", default=",".join(DEFAULT_CATEGORIES),
                        help="comma-separated fortunes files, in class order (default: %(default)s)")
    parser.add_argument("--fortunes-dir", default=FORTUNES_DIR, help="where the category files are")
    parser.add_argument("--out", default="data/fortunes", help="directory for train.csv and test.csv")
    parser.add_argument("--test-fraction", type=float, default=0.2, help="share of each category in test.csv")
    parser.add_argument("--seed", type=int, default=1, help="seeds the split")
    parser.add_argument("--min-texts", type=int, default=500, help="the fewest texts a category may have")
    args = parser.parse_args()

    categories = [name.strip() for name in args.categories.split(",") if name.strip()]
    if len(categories) < 2:
        fail("--categories needs at least two categories.")
    if not 0.0 < args.test_fraction < 1.0:
        fail(f"--test-fraction {args.test_fraction} is not between 0 and 1.")
    rng = random.Random(args.seed)
    train, test = [], []
    for label, name in enumerate(categories, start=1):
        path = os.path.join(args.fortunes_dir, name)
        if not os.path.isfile(path):
            fail(f"{path} does not exist (install Debian's fortunes package: apt-get install fortunes).")
        texts = read_texts(path)
        if len(texts) < args.min_texts:
            fail(f"{path} has {len(texts)} texts, fewer than --min-texts {args.min_texts}.")
        order = list(range(len(texts)))
        rng.shuffle(order)
        held_out = round(len(texts) * args.test_fraction)
        test += [row(label, texts[i]) for i in order[:held_out]]
        train += [row(label, texts[i]) for i in order[held_out:]]
        print(f"{label} {name}: {len(texts) - held_out} train, {held_out} test", file=sys.stderr)
    # Interleave the classes: a file sorted by class is a poor thing to hand anyone.
    rng.shuffle(train)
    rng.shuffle(test)
    os.makedirs(args.out, exist_ok=True)
    for name, rows in (("train.csv", train), ("test.csv", test)):
        target = os.path.join(args.out, name)
        with open(target + ".tmp", "w", encoding="utf-8", newline="") as handle:
            handle.writelines(rows)
        os.replace(target + ".tmp", target)
    print(f"wrote {len(train)} rows to {os.path.join(args.out, 'train.csv')} and {len(test)} to "
          f"{os.path.join(args.out, 'test.csv')}", file=sys.stderr)


if __name__ == "__main__":
    main()
