"""How much of one piece of code reappears in another, names, comments and layout set aside.

The release checks use it to find an answer shipped to students in disguise: a helper module
that holds a solution block, a given cell or visible test that re-implements the exercise.
Code is reduced to a stream of tokens in which local names become ``N``, strings ``S`` and
numbers ``0``, while keywords, operators, attribute names (``.softmax``) and the libraries'
own names (``torch``, ``F``) stay; comments, blank lines and indentation go. ``covered`` is
the share of a block's tokens that lie in a run of ``k`` tokens found in the other text.
"""

from __future__ import annotations

import builtins
import functools
import io
import keyword
import re
import tokenize

# Names that mean the same thing in every notebook: they stay as they are.
LIBRARY_NAMES = frozenset({"torch", "nn", "F", "np", "numpy", "math", "random", "plt", "optim"})
KEPT_NAMES = LIBRARY_NAMES | frozenset(dir(builtins))
_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENCODING, tokenize.ENDMARKER}
_WORD = re.compile(r"[A-Za-z_]\w*|\d+(?:\.\d*)?|\S")


def tokens(code: str) -> list[str]:
    """``code`` as normalised tokens (see the module's docstring).

    Text that is not Python (or not all of it: a notebook's ``%magic``) falls back to words
    and single characters under the same rules, so that every text can be compared.
    """
    try:
        return _python_tokens(code)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        out: list[str] = []
        for word in _WORD.findall(code):
            if word[0].isdigit():
                out.append("0")
            elif (word[0].isalpha() or word[0] == "_") and not keyword.iskeyword(word):
                out.append(_name(word, after_dot=bool(out) and out[-1] == "."))
            else:
                out.append(word)
        return out


def _name(name: str, after_dot: bool) -> str:
    return name if after_dot or name in KEPT_NAMES else "N"


def _python_tokens(code: str) -> list[str]:
    out: list[str] = []
    after_dot = False
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type in _SKIPPED:
            continue
        text = tok.string
        if tok.type == tokenize.NAME and not keyword.iskeyword(text):
            out.append(_name(text, after_dot))
        elif tok.type == tokenize.STRING or tok.type in _FSTRING_TYPES:
            if not out or out[-1] != "S":
                out.append("S")  # an f-string's pieces count as one string
        elif tok.type == tokenize.NUMBER:
            out.append("0")
        else:
            out.append(text)
        after_dot = text == "."
    return out


_FSTRING_TYPES = {getattr(tokenize, name) for name in
                  ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END") if hasattr(tokenize, name)}


def grams(toks: list[str], k: int) -> set[tuple[str, ...]]:
    return {tuple(toks[i:i + k]) for i in range(len(toks) - k + 1)}


@functools.lru_cache(maxsize=16)
def _text_grams(text: str, k: int) -> frozenset[tuple[str, ...]]:
    """The ``k``-token runs of ``text``, kept for the next block compared with the same text."""
    return frozenset(grams(tokens(text), k))


def covered(block: str, text: str, k: int = 10, bare_runs: bool = True,
            ignore: frozenset = frozenset()) -> float:
    """The share of ``block``'s tokens that lie in some ``k``-token run also found in ``text``.

    0.0 for a block shorter than ``k`` tokens: too short to be told apart from common code.
    ``bare_runs=False`` ignores runs made of local names, strings, numbers and punctuation
    alone (``N = N ( N , N , N )``): short runs like these match any call with as many names.
    Runs in ``ignore`` (common idioms) never count.
    """
    mine = tokens(block)
    if len(mine) < k:
        return 0.0
    theirs = _text_grams(text, k)
    hit = [False] * len(mine)
    for i in range(len(mine) - k + 1):
        run = tuple(mine[i:i + k])
        counts = bare_runs or not all(t in _BARE for t in run)
        if run in theirs and run not in ignore and counts:
            hit[i:i + k] = [True] * k
    return sum(hit) / len(mine)


# Tokens that say nothing about what code computes: placeholders and punctuation.
_BARE = frozenset({"N", "S", "0", "(", ")", "[", "]", "{", "}", ",", ":", "=", ".", ";"})
