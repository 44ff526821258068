"""Chat keywords: the one home of the rules a message and a keyword list are read by.

A message's tokens (``message_tokens``: a word as written when it has a capital, every word
lowercased, every two words in a row lowercased) and the token a keyword is looked up as
(``keyword_token``) are written once here, so the counting of a stored chat, a live
channel's matcher and a pack's list can never drift apart. Pure text, no numpy: a prompt
pack checks its chat keywords with these rules, which is why they live in the scoring
stage, above ``emotion.chat`` that counts them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from emotion.errors import HypelineError

# Emote names (one word with a capital letter) match case-sensitively as whole tokens ("W" is
# not "w", "Pog" is not "PogChamp"); lowercase words and two-word phrases match in any case
# as whole words. The default list, once: pipeline.Settings, the CLI, the sidebar take it.
DEFAULT_KEYWORDS = (
    "KEKW",
    "LUL",
    "LULW",
    "OMEGALUL",
    "Pog",
    "PogChamp",
    "POGGERS",
    "PogU",
    "W",
    "L",
    "clip it",
    "Clip",
    "monkaS",
    "monkaW",
    "PepeLaugh",
    "Sadge",
    "ICANT",
    "Kappa",
    "lol",
    "lmao",
    "haha",
    "omg",
    "wtf",
    "no way",
    "holy",
)
MAX_KEYWORDS = 50  # a keyword list's length
MAX_KEYWORD_WORDS = 2  # an emote, a word or a two-word phrase

_WORD = re.compile(r"\w+(?:'\w+)*")  # "KEKW", "let's", "clip"; emoji and punctuation part them
_WHOLE_WORD = re.compile(r"\w+(?:'\w+)*\Z").match


def message_tokens(text: str) -> set[str]:
    """The tokens a message uses, each once: a word as written when it has a capital (emote
    names match case-sensitively), every word lowercased, and every two words in a row
    (only spaces between them) lowercased and joined by one space."""
    tokens: set[str] = set()
    add = tokens.add
    previous = ""  # the lowercased word that ends the piece before, if one does
    for piece in text.split():
        if piece.isalnum() or _WHOLE_WORD(piece):  # the usual piece: one word (isalnum: \w)
            lower = piece.lower()
            add(lower)
            if lower != piece:
                add(piece)
            if previous:
                add(previous + " " + lower)
            previous = lower
            continue
        end, last = -1, ""
        for match in _WORD.finditer(piece):  # "KEKW!", "lol,clip", "😂KEKW"
            word = match.group()
            lower = word.lower()
            add(lower)
            if lower != word:
                add(word)
            if previous and match.start() == 0:
                add(previous + " " + lower)
            previous, end = "", match.end()
            last = lower
        previous = last if end == len(piece) else ""
    return tokens


def keyword_token(keyword: str) -> str:
    """The token a keyword is looked up as: an emote name (a capital) as written, a word or
    a two-word phrase lowercased; a ``HypelineError`` for one that is neither."""
    words = _WORD.findall(keyword)
    if not words:
        raise HypelineError("Chat keywords must be words or phrases; remove the blank ones.")
    if " ".join(words) != " ".join(keyword.split()):
        raise HypelineError(
            f"The chat keyword {keyword.strip()!r} holds more than words; use letters, digits, "
            "_ and ' (an emote's name, a word or a two-word phrase)."
        )
    if len(words) > MAX_KEYWORD_WORDS:
        raise HypelineError(
            f"The chat keyword {keyword.strip()!r} has {len(words)} words; a keyword is an "
            f"emote, a word or a phrase of at most {MAX_KEYWORD_WORDS} words."
        )
    if len(words) == 1 and words[0] != words[0].lower():
        return words[0]
    return " ".join(words).lower()


def check_keywords(keywords: Iterable[str]) -> tuple[str, ...]:
    """A keyword list as counted: each stripped, checked (``keyword_token``), each once."""
    given = [str(k) for k in keywords]
    if not given or any(not k.strip() for k in given):
        raise HypelineError("Chat keywords must be words or phrases; remove the blank ones.")
    if len(given) > MAX_KEYWORDS:
        raise HypelineError(
            f"Give at most {MAX_KEYWORDS} chat keywords, not {len(given)}; keep the ones that "
            "matter."
        )
    seen: set[str] = set()
    kept = []
    for keyword in given:
        token = keyword_token(keyword)
        if token not in seen:
            seen.add(token)
            kept.append(" ".join(keyword.split()))
    return tuple(kept)


def parse_keywords(text: str) -> tuple[str, ...]:
    """A comma-separated keyword list ("KEKW, LUL, clip it"), checked."""
    return check_keywords(text.split(","))


class KeywordMatcher:
    """Finds which keywords a message uses, by the rules of ``message_tokens``: an emote name
    whole and case-sensitively, a word or a two-word phrase whole in any case; each keyword
    on its own ("Clip it" uses both "clip it" and "Clip")."""

    def __init__(self, keywords: Sequence[str] = DEFAULT_KEYWORDS) -> None:
        self.keywords = check_keywords(keywords)
        self._token_of = {keyword_token(k): k for k in self.keywords}

    def find(self, text: str) -> set[str]:
        """The keywords ``text`` uses (each once), as they are written in ``keywords``."""
        return {self._token_of[t] for t in message_tokens(text) if t in self._token_of}
