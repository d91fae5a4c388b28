"""A deterministic movie-review sentiment corpus, and loaders for the real IMDB data.

No machine the course grades on can download IMDB, so the RNN sentiment assignment trains and is graded on a
corpus this module generates from a fixed seed; ``--data`` can point :func:`load_imdb` at a real ``aclImdb``
folder or at the Kaggle "IMDB Dataset of 50K Movie Reviews" CSV instead.

Why the corpus is shaped the way it is. The grader trains the student's small LSTM for a few seconds of CPU
and scores it on held-out reviews, so the corpus has to do two things at once:

* be learnable by a small LSTM in that budget: a closed vocabulary (about 300 content words: sentiment
  adjectives, nouns such as plot/acting/soundtrack/ending, neutral fillers) and a few dozen templates;
* make negation and word order matter, so that an RNN is worth having: a bag-of-words model must not reach
  the LSTM's accuracy. About half of the reviews are built from constructions whose bag of words says
  nothing about the label, because the same bag occurs with both labels: "the acting was good, not bad"
  (positive) / "the acting was bad, not good" (negative); "it started dull but ended brilliant" /
  "it started brilliant but ended dull"; "although the plot was weak, the cast was superb"; "never dull,
  always gripping"; "no charm, only cliches". Single negations ("the pacing is never dull") make a bag of
  words lean the wrong way. The other reviews are plain ("A wonderful cast.") and teach what the words mean.

Only ``not``, ``no``, ``never``, ``but``, ``although`` and ``yet`` negate or contrast (they also occur in
neutral filler sentences, "I had never heard of it before"), and none of them is one of the assignment's stop
words, which the students' tokenizer drops: the signal is carried by words the students' models see. The
surface looks like IMDB: mixed case, punctuation, occasional ``<br /><br />``, 6-40 words per review.

Generation uses only ``random.Random(seed)`` over fixed tuples (never sets, whose order varies between runs),
so a (n, seed) pair gives the same reviews on every machine and Python version.
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DataError",
    "Review",
    "SentimentSplits",
    "bundled_splits",
    "fresh_reviews",
    "generate_corpus",
    "load_imdb",
    "read_csv",
    "split_sizes",
    "write_csv",
]

POSITIVE, NEGATIVE = 1, 0
_LABEL_NAMES = {POSITIVE: "positive", NEGATIVE: "negative"}
_LABEL_VALUES = {"positive": POSITIVE, "pos": POSITIVE, "1": POSITIVE, "negative": NEGATIVE, "neg": NEGATIVE,
                 "0": NEGATIVE}

_EXPECTED = ("an aclImdb folder (with train/pos, train/neg, test/pos, test/neg) or the 50k-review CSV "
             "with 'review' and 'sentiment' columns")


class DataError(ValueError):
    """The data at a user-given path is missing or not in a layout we read; the message says what to fix."""


@dataclass(frozen=True)
class Review:
    text: str
    label: int  # 1 positive, 0 negative


@dataclass
class SentimentSplits:
    train: list[Review]
    valid: list[Review]
    test: list[Review]


def split_sizes(n: int, train_fraction: float = 0.7) -> tuple[int, int]:
    """Sizes of the two parts of ``n`` examples: ``split_sizes(25000) == (17500, 7500)``.

    The first part is ``round(n * train_fraction)``. Used for train/valid here and in the next assignment.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not 0.0 <= train_fraction <= 1.0:
        raise ValueError(f"train_fraction must be between 0 and 1, got {train_fraction}")
    first = min(n, max(0, round(n * train_fraction)))
    return first, n - first


# --------------------------------------------------------------------------------------------------------
# Vocabulary. Tuples, never sets: iteration order must not depend on the interpreter's hash seed.

_POS_ADJ = (
    "good", "great", "wonderful", "brilliant", "excellent", "superb", "gripping", "charming", "moving",
    "delightful", "clever", "witty", "beautiful", "stunning", "funny", "engaging", "memorable", "touching",
    "powerful", "compelling", "fresh", "original", "thrilling", "solid", "impressive", "enjoyable",
    "fantastic", "terrific", "lovely", "smart", "elegant", "haunting", "uplifting", "heartfelt", "inventive",
    "riveting", "masterful", "vivid",
)
_NEG_ADJ = (
    "bad", "awful", "terrible", "dull", "boring", "weak", "poor", "clumsy", "predictable", "tedious", "bland",
    "flat", "lifeless", "forgettable", "silly", "stupid", "dreadful", "horrible", "painful", "sloppy", "lazy",
    "messy", "pointless", "shallow", "stale", "tired", "annoying", "cheesy", "wooden", "clunky", "confusing",
    "pretentious", "mediocre", "dreary", "lame", "hollow", "laughable", "amateurish",
)
_ADJ = {POSITIVE: _POS_ADJ, NEGATIVE: _NEG_ADJ}

# How the viewer felt: "I was moved", "I was never bored".
_FEELING = {
    POSITIVE: ("impressed", "moved", "entertained", "amused", "hooked", "captivated"),
    NEGATIVE: ("bored", "disappointed", "annoyed", "confused", "irritated", "underwhelmed"),
}
# Nouns with a polarity, for "no": (word, plural).
_POLAR_NOUN = {
    POSITIVE: (("charm", False), ("heart", False), ("wit", False), ("tension", False), ("suspense", False),
               ("warmth", False), ("surprises", True), ("laughs", True), ("depth", False), ("energy", False)),
    NEGATIVE: (("cliches", True), ("flaws", True), ("gimmicks", True), ("nonsense", False), ("filler", False),
               ("boredom", False), ("mistakes", True), ("padding", False), ("plot holes", True),
               ("bad jokes", True)),
}
_VERB = {
    POSITIVE: ("loved", "enjoyed", "adored", "admired", "cherished"),
    NEGATIVE: ("hated", "disliked", "loathed", "despised", "endured"),
}
_VERDICT = {
    POSITIVE: ("highly recommended", "a must see", "worth every minute", "ten out of ten",
               "I would happily watch it again", "go and see it"),
    NEGATIVE: ("avoid it", "a complete waste of time", "skip this one", "one out of ten",
               "I want my money back", "save your money"),
}
# What a review talks about: (noun phrase, plural). None of these carries sentiment.
_MASS = ("acting", "dialogue", "direction", "cinematography", "pacing", "editing", "camera work", "humor",
         "writing", "music", "chemistry", "production design")
_SUBJECT = (
    ("plot", False), ("story", False), ("acting", False), ("cast", False), ("script", False),
    ("dialogue", False), ("soundtrack", False), ("score", False), ("ending", False), ("opening", False),
    ("direction", False), ("director", False), ("cinematography", False), ("pacing", False),
    ("editing", False), ("lead", False), ("performances", True), ("characters", True), ("villain", False),
    ("hero", False), ("special effects", True), ("visuals", True), ("camera work", False), ("humor", False),
    ("writing", False), ("screenplay", False), ("premise", False), ("finale", False), ("twist", False),
    ("costumes", True), ("music", False), ("romance", False), ("climax", False), ("chemistry", False),
    ("atmosphere", False), ("sets", True), ("first act", False), ("final scene", False),
    ("supporting cast", False), ("lead actress", False), ("lead actor", False), ("production design", False),
)
_INTENSIFIER = ("really", "truly", "quite", "genuinely", "surprisingly", "simply", "remarkably",
                "pretty", "absolutely")
_NOT_INTENSIFIER = ("particularly", "remotely", "especially", "even")

_WHEN = ("last night", "yesterday", "last weekend", "on a plane", "at a festival", "on cable",
         "at the cinema", "on DVD", "on a rainy Sunday", "late at night")
_WHO = ("wife", "husband", "friends", "kids", "brother", "sister", "parents", "dad", "mom")
_PLACE = ("a small town", "New York", "Paris", "London", "the desert", "a boarding school")
_SOURCE = ("a novel", "a true story", "a comic book", "a stage play", "a short story")
_ROLE = ("a detective", "a teacher", "a soldier", "a doctor", "a lawyer", "a thief", "a journalist",
         "a nurse")
_ERA = ("in the eighties", "last year", "decades ago", "in the nineties")
_GENRE = ("comedy", "drama", "thriller", "western", "musical", "romance")


# The neutral sentences: no sentiment; some use not/no/never/but, negating nothing. Each draws from the generator
# in the order it is written (the corpus a seed gives depends on it).
_NEUTRALS: tuple[Callable[[random.Random], str], ...] = (
    lambda rng: f"I watched it {rng.choice(_WHEN)} with my {rng.choice(_WHO)}",
    lambda rng: f"I saw it {rng.choice(_WHEN)}",
    lambda rng: f"my {rng.choice(_WHO)} suggested it",
    lambda rng: f"it runs about {rng.choice(('two', 'three'))} hours",
    lambda rng: f"the story is set in {rng.choice(_PLACE)}",
    lambda rng: f"it is based on {rng.choice(_SOURCE)}",
    lambda rng: f"the lead plays {rng.choice(_ROLE)} from {rng.choice(_PLACE)}",
    lambda rng: f"it came out {rng.choice(_ERA)}",
    lambda rng: "I had never heard of it before",
    lambda rng: f"no one in my {rng.choice(('family', 'office'))} had seen it",
    lambda rng: _expected_but_got(*rng.sample(_GENRE, 2)),
    lambda rng: f"it was shown on television {rng.choice(_ERA)}",
    lambda rng: f"this is the director's {rng.choice(('first', 'second', 'third', 'latest'))} feature",
    lambda rng: f"I rented it {rng.choice(('on a whim', 'after reading the book', 'for my ' + rng.choice(_WHO)))}",
)


def _expected_but_got(a: str, b: str) -> str:
    return f"I expected {_a(a)} {a} but got {_a(b)} {b}"


def _a(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _subject(rng: random.Random, exclude: str = "") -> tuple[str, bool]:
    while True:
        noun, plural = rng.choice(_SUBJECT)
        if noun != exclude:
            return noun, plural


def _be(rng: random.Random, plural: bool, present: bool | None = None) -> str:
    if present is None:
        present = rng.random() < 0.3
    if present:
        return "are" if plural else "is"
    return "were" if plural else "was"


def _maybe_intensify(rng: random.Random, adj: str, p: float = 0.3) -> str:
    return f"{rng.choice(_INTENSIFIER)} {adj}" if rng.random() < p else adj


def _plain(rng: random.Random, pol: int) -> list[str]:
    """One sentence whose words carry its polarity: a bag of words gets these right."""
    adj = rng.choice(_ADJ[pol])
    noun, plural = _subject(rng)
    choice = rng.randrange(8)
    if choice == 0:
        return [f"the {noun} {_be(rng, plural)} {_maybe_intensify(rng, adj)}"]
    article = "" if plural or noun in _MASS else f"{_a(adj)} "
    if choice == 1:
        return [f"{article}{adj} {noun}"]
    if choice == 2:
        return [f"what {article}{adj} {noun}!"]
    if choice == 3:
        return [f"I {rng.choice(_VERB[pol])} the {noun}"]
    if choice == 4:
        adj2 = rng.choice([a for a in _ADJ[pol] if a != adj])
        noun2, _ = _subject(rng, exclude=noun)
        return [f"{adj} {noun} and {adj2} {noun2}"]
    if choice == 5:
        return [rng.choice(_VERDICT[pol])]
    if choice == 6:
        return [f"I was {rng.choice(_FEELING[pol])}"]
    adj2 = rng.choice([a for a in _ADJ[pol] if a != adj])
    return [f"the {noun} {_be(rng, plural)} {adj} and {adj2}"]


def _negated(rng: random.Random, pol: int) -> list[str]:
    """One sentence whose only polar word is negated: a bag of words leans the wrong way."""
    other = 1 - pol
    noun, plural = _subject(rng)
    choice = rng.randrange(5)
    if choice == 0:
        adj = rng.choice(_ADJ[other])
        qualifier = f"{rng.choice(_NOT_INTENSIFIER)} " if rng.random() < 0.3 else ""
        return [f"the {noun} {_be(rng, plural)} not {qualifier}{adj}"]
    if choice == 1:
        return [f"the {noun} {_be(rng, plural)} never {rng.choice(_ADJ[other])}"]
    if choice == 2:
        return [f"I was never {rng.choice(_FEELING[other])}"]
    if choice == 3:
        pn, pn_plural = rng.choice(_POLAR_NOUN[other])
        return [f"there {_be(rng, pn_plural)} no {pn}"]
    return [f"I did not feel {rng.choice(_FEELING[other])} for a moment"]


def _contrast(rng: random.Random, pol: int) -> list[str]:
    """A unit whose bag of words is the same for both labels: only order and negation say which it is."""
    other = 1 - pol
    good, bad = rng.choice(_ADJ[pol]), rng.choice(_ADJ[other])  # "good" = the label's side, "bad" = the other
    noun, plural = _subject(rng)
    noun2, plural2 = _subject(rng, exclude=noun)
    be, be2 = _be(rng, plural), _be(rng, plural2)
    choice = rng.randrange(11)
    if choice == 0:  # the acting was good , not bad
        return [f"the {noun} {be} {_maybe_intensify(rng, good, 0.2)}, not {bad}"]
    if choice == 1:  # not bad but good
        return [f"the {noun} {be} not {bad} but {good}"]
    if choice == 2:  # it started bad but ended good
        first, then = rng.choice((("started", "ended"), ("starts", "ends"), ("begins", "finishes")))
        return [f"it {first} {bad} but {then} {good}"]
    if choice == 3:
        present = rng.random() < 0.3
        return [f"the first half {_be(rng, False, present)} {bad} but the second half "
                f"{_be(rng, False, present)} {_maybe_intensify(rng, good, 0.2)}"]
    if choice == 4:
        return [f"the {noun} {be} {bad}, but the {noun2} {be2} {_maybe_intensify(rng, good, 0.2)}"]
    if choice == 5:
        return [f"although the {noun} {be} {bad}, the {noun2} {be2} {_maybe_intensify(rng, good, 0.2)}"]
    if choice == 6:
        return [f"the {noun} {be} {bad} yet {good}"]
    if choice == 7:
        return [f"the {noun} {be} {bad}, yet the {noun2} {be2} {good}"]
    if choice == 8:
        return [f"the {noun} {be} never {bad}, always {good}"]
    if choice == 9:
        pn_good, _ = rng.choice(_POLAR_NOUN[pol])
        pn_bad, bad_plural = rng.choice(_POLAR_NOUN[other])
        return [f"there {_be(rng, bad_plural)} no {pn_bad}, only {pn_good}"]
    # Two sentences: the first negated, the second plain.
    return [f"the {noun} {be} not {bad}", f"the {noun2} {be2} {_maybe_intensify(rng, good, 0.2)}"]


_KINDS = ("plain", "contrast", "negated")
_KIND_WEIGHTS = (0.4, 0.45, 0.15)


def _review(rng: random.Random, pol: int) -> str:
    kind = rng.choices(_KINDS, weights=_KIND_WEIGHTS)[0]
    units: list[list[str]]
    if kind == "plain":
        units = [_plain(rng, pol) for _ in range(rng.choice((1, 1, 2, 2, 3)))]
    elif kind == "contrast":
        units = [_contrast(rng, pol) for _ in range(rng.choice((1, 1, 1, 2)))]
    else:
        units = [_negated(rng, pol)]
        if rng.random() < 0.3:
            units.append(_contrast(rng, pol))
    rng.shuffle(units)
    for choice in rng.sample(range(len(_NEUTRALS)), rng.choice((0, 0, 1, 1, 1, 2))):
        position = 0 if rng.random() < 0.6 else rng.randint(0, len(units))
        units.insert(position, [_NEUTRALS[choice](rng)])
    sentences = [s for unit in units for s in unit]
    return _render(rng, sentences)


def _render(rng: random.Random, sentences: Sequence[str]) -> str:
    """Capitalize, punctuate and join sentences the way IMDB reviewers do, give or take."""
    shout = rng.random() < 0.08
    lowercase = rng.random() < 0.05
    parts = []
    for i, sentence in enumerate(sentences):
        words = sentence.split(" ")
        polar = [j for j, w in enumerate(words) if w in _POS_ADJ or w in _NEG_ADJ]
        if shout and polar:  # one adjective in capitals: "the acting was GREAT"
            j = rng.choice(polar)
            words[j] = words[j].upper()
            shout = False
        text = " ".join(words)
        if not text.endswith(("!", ".")):
            text += rng.choices((".", "!", "...", "!!"), weights=(0.8, 0.12, 0.05, 0.03))[0]
        text = text[0].upper() + text[1:]
        if lowercase:
            text = text.lower()
        if i:
            parts.append(" <br /><br />" if rng.random() < 0.12 else "")
            parts.append(" ")
        parts.append(text)
    return "".join(parts)


_STOP_WORDS = frozenset(
    "a an the and or of to in on at for with by from as is are was were be been being it its this that these "
    "those i me my we our you your he she they them his her their there here am do does did has have had so "
    "than then just very too also about into over after before while which who whom what when where why how "
    "all any both each few more most other some such own same s t can will should now film movie".split()
)


def _key(text: str) -> tuple[str, ...]:
    """What a student's model sees of a review: two reviews with the same key are the same review."""
    words = re.findall(r"[a-zA-Z]+", re.sub(r"<[^>]*>", " ", text).lower())
    return tuple(w for w in words if w not in _STOP_WORDS)


def _word_count(text: str) -> int:
    return len(re.findall(r"[a-zA-Z]+", re.sub(r"<[^>]*>", " ", text)))


def _generate(rng: random.Random, n_pos: int, n_neg: int, seen: set[tuple[str, ...]]) -> list[Review]:
    """n_pos positive and n_neg negative reviews, shuffled, none whose key is in ``seen`` (which grows)."""
    labels = [POSITIVE] * n_pos + [NEGATIVE] * n_neg
    rng.shuffle(labels)
    out = []
    budget = 200 * len(labels) + 1000
    for label in labels:
        while True:
            budget -= 1
            if budget < 0:
                raise RuntimeError("could not generate enough distinct reviews; ask for fewer")
            text = _review(rng, label)
            key = _key(text)
            if 6 <= _word_count(text) <= 40 and key not in seen:
                seen.add(key)
                out.append(Review(text, label))
                break
    return out


def generate_corpus(n: int, seed: int = 0) -> list[Review]:
    """``n`` distinct generated reviews in random order, ``n // 2`` of them positive (the odd one out, if any,
    negative); the same list for the same (n, seed) on any machine."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return _generate(random.Random(seed), n // 2, n - n // 2, set())


def fresh_reviews(n: int, seed: int, exclude: Iterable[Review] = ()) -> list[Review]:
    """``n`` generated reviews (balanced as :func:`generate_corpus`), none of which is, to a model's eyes (the
    same words after the tokenizer's rules), one of ``exclude``. For held-out sets drawn per grading run from a
    seed the student's kernel never sees: given every review the notebook had, no table computed from them or
    from the public generator's seeds covers these."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return _generate(random.Random(seed), n // 2, n - n // 2, {_key(r.text) for r in exclude})


def bundled_splits(
    n_train: int = 2000, n_valid: int = 400, n_test: int = 600, seed: int = 0
) -> SentimentSplits:
    """The default grading data: three balanced splits of generated reviews, no review in two splits."""
    rng = random.Random(seed)
    seen: set[tuple[str, ...]] = set()
    train, valid, test = (_generate(rng, k // 2, k - k // 2, seen) for k in (n_train, n_valid, n_test))
    return SentimentSplits(train=train, valid=valid, test=test)


# --------------------------------------------------------------------------------------------------------
# CSV: the layout of Kaggle's "IMDB Dataset of 50K Movie Reviews", so one reader serves both.


def write_csv(reviews: Iterable[Review], path: str | Path) -> None:
    """Write ``review,sentiment`` rows with sentiment "positive"/"negative"."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["review", "sentiment"])
        for r in reviews:
            writer.writerow([r.text, _LABEL_NAMES[r.label]])


def read_csv(path: str | Path) -> list[Review]:
    """Read a ``review,sentiment`` CSV (ours or Kaggle's 50k IMDB); raise DataError if it is not one."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise DataError(f"{path} is empty: expected a CSV with 'review' and 'sentiment' columns")
            names = [h.strip().lower() for h in header]
            missing = [c for c in ("review", "sentiment") if c not in names]
            if missing:
                columns = ", ".join(repr(h[:40]) for h in header[:8]) + (", ..." if len(header) > 8 else "")
                raise DataError(
                    f"{path} is not a review CSV: it has no {' or '.join(repr(c) for c in missing)} column "
                    f"(its columns are {columns}); expected 'review' and 'sentiment' columns, as in the "
                    f"50k-review IMDB CSV")
            i_text, i_label = names.index("review"), names.index("sentiment")
            reviews = []
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                line = reader.line_num
                if len(row) <= max(i_text, i_label):
                    raise DataError(f"{path}, line {line}: the row has {len(row)} fields, expected a review "
                                    f"and a sentiment")
                value = row[i_label].strip()
                label = _LABEL_VALUES.get(value.lower())
                if label is None:
                    raise DataError(f"{path}, line {line}: sentiment is {value!r}; expected 'positive' or "
                                    f"'negative'")
                reviews.append(Review(row[i_text], label))
            return reviews
    except UnicodeDecodeError as e:
        raise DataError(f"{path} is not a UTF-8 text file ({e.reason} at byte {e.start}): expected "
                        f"{_EXPECTED}") from None
    except csv.Error as e:
        raise DataError(f"{path} could not be read as CSV ({e}): expected {_EXPECTED}") from None
    except OSError as e:
        raise DataError(f"{path} could not be read ({e.strerror}): expected {_EXPECTED}") from None


# --------------------------------------------------------------------------------------------------------
# Real IMDB.

_ACL_PARTS = ("train/pos", "train/neg", "test/pos", "test/neg")


def _read_acl_part(folder: Path) -> list[str]:
    files = sorted(folder.glob("*.txt"))
    if not files:
        raise DataError(f"IMDB folder {folder} holds no *.txt reviews: expected one review per .txt file, as "
                        f"in aclImdb")
    texts = []
    for file in files:
        try:
            texts.append(file.read_text(encoding="utf-8", errors="replace"))
        except OSError as e:
            raise DataError(f"could not read IMDB review {file}: {e.strerror}") from None
    return texts


def _load_acl(root: Path, seed: int) -> SentimentSplits:
    def part(name: str, label: int) -> list[Review]:
        return [Review(text, label) for text in _read_acl_part(root / name)]

    rng = random.Random(seed)
    pool = part("train/pos", POSITIVE) + part("train/neg", NEGATIVE)
    test = part("test/pos", POSITIVE) + part("test/neg", NEGATIVE)
    rng.shuffle(pool)
    rng.shuffle(test)
    n_train, _ = split_sizes(len(pool))
    return SentimentSplits(train=pool[:n_train], valid=pool[n_train:], test=test)


def _load_csv(path: Path, seed: int) -> SentimentSplits:
    reviews = read_csv(path)
    if not reviews:
        raise DataError(f"{path} has a header but no reviews: expected the 50k-review CSV with 'review' and "
                        f"'sentiment' columns")
    rng = random.Random(seed)
    rng.shuffle(reviews)
    n_pool, _ = split_sizes(len(reviews), 0.5)
    pool, test = reviews[:n_pool], reviews[n_pool:]
    n_train, _ = split_sizes(len(pool))
    return SentimentSplits(train=pool[:n_train], valid=pool[n_train:], test=test)


def _is_acl(folder: Path) -> bool:
    return (folder / "train").is_dir() or (folder / "test").is_dir()


def load_imdb(path: str | Path, seed: int = 0) -> SentimentSplits:
    """Load real IMDB from an ``aclImdb`` folder (or the folder holding it) or from the 50k-review CSV.

    aclImdb: its train reviews are split 70/30 into train/valid (17,500 / 7,500), its test reviews are the
    test split. CSV: shuffled, split 50/50 into a train pool and test, the pool then 70/30 into train/valid.
    Both shuffles use ``random.Random(seed)``. Raises :class:`DataError`, with a message naming the path and
    what was expected, when the data is not there or not in one of these layouts.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"IMDB data not found at {path}: expected {_EXPECTED}")
    if path.is_dir():
        root = path
        if not _is_acl(path) and (path / "aclImdb").is_dir():
            root = path / "aclImdb"
        if not _is_acl(root):
            csvs = sorted(p.name for p in path.glob("*.csv"))
            archives = sorted(p.name for p in path.iterdir() if p.name.endswith((".tar.gz", ".tgz", ".zip")))
            hint = ""
            if csvs:
                hint = f" (it holds {', '.join(csvs)}: pass that file instead)"
            elif archives:
                hint = f" (it holds {', '.join(archives)}: extract it first)"
            raise DataError(f"IMDB data not found at {path}: the folder is not an aclImdb folder{hint}; "
                            f"expected {_EXPECTED}")
        missing = [p for p in _ACL_PARTS if not (root / p).is_dir()]
        if missing:
            raise DataError(f"IMDB folder {root} is incomplete: missing {', '.join(missing)}; "
                            f"expected {_EXPECTED}")
        return _load_acl(root, seed)
    if path.name.endswith((".tar.gz", ".tgz", ".tar", ".zip", ".gz")):
        raise DataError(f"IMDB data at {path} is an archive: extract it first and pass the aclImdb folder or "
                        f"the CSV inside; expected {_EXPECTED}")
    return _load_csv(path, seed)
