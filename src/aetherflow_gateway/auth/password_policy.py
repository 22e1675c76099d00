"""Which passwords registration refuses, after OWASP's current guidance.

Length is the main rule (15 to 256 characters, enforced by the request schema) and
there are no composition rules. On top of it a password is refused when guessing
it takes no effort: it is, or is built from, an entry of `common_passwords.txt`
(ignoring case, separators, digits or symbols around it and the usual
letter-for-symbol swaps); it repeats one short piece; it runs along the alphabet,
the digits or a keyboard row; or it contains the local part of the user's email.

Provenance of `common_passwords.txt`: the list was written for this project by
its engineers, from the passwords that published breach-corpus rankings
consistently place at the top, widely quoted phrases, and base words such lists
show people decorate with digits. It is not a copy of any published list and it is
deliberately small (a few hundred entries): a tripwire for the most predictable
choices, not a replacement for checking a large breached-password corpus.
"""

import re
from importlib.resources import files

MIN_LOCAL_PART = 4
# Entries shorter than this never count as pieces of a longer password.
MIN_PIECE = 4
_SEPARATORS = re.compile(r"[\s._-]+")
_DECORATION = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_REPEATED = re.compile(r"(.+?)\1+")
_LEET = str.maketrans({"@": "a", "4": "a", "3": "e", "1": "i", "!": "i", "0": "o"})
_LEET_MORE = str.maketrans({"$": "s", "5": "s", "7": "t", "1": "l", "+": "t"})
_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "0123456789",
    "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "qazwsxedcrfvtgbyhnujmikolp",
)


def weakness(password: str, email: str | None = None) -> str | None:
    """Why `password` is too easy to guess, or None when it is acceptable."""
    text = normalize(password)
    if _is_common(text):
        return "it is a common password or is built from common passwords"
    if _REPEATED.fullmatch(text):
        return "it repeats the same characters"
    if _runs_along_a_sequence(text):
        return "it follows the alphabet, the digits or a keyboard row"
    if email is not None and _contains_local_part(text, email):
        return "it contains your email address"
    return None


def normalize(text: str) -> str:
    return _SEPARATORS.sub("", text.casefold())


def _is_common(text: str) -> bool:
    core = _undecorated(text)
    swapped = core.translate(_LEET)
    candidates = {
        text,
        core,
        swapped,
        swapped.translate(_LEET_MORE),
        _undecorated(text.translate(_LEET)),
    }
    return any(_is_built_from_entries(candidate) for candidate in candidates)


def _undecorated(text: str) -> str:
    return _DECORATION.sub("", text) or text


def _is_built_from_entries(text: str) -> bool:
    """True when `text` is an entry, or entries (with repeats) end to end."""
    entries = COMMON_PASSWORDS
    if text in entries:
        return True

    reachable = [True] + [False] * len(text)
    for end in range(MIN_PIECE, len(text) + 1):
        reachable[end] = any(
            reachable[start] and text[start:end] in entries
            for start in range(end - MIN_PIECE + 1)
        )
    return reachable[-1]


def _runs_along_a_sequence(text: str) -> bool:
    for sequence in _SEQUENCES:
        for direction in (sequence, sequence[::-1]):
            cycled = direction * (len(text) // len(direction) + 2)
            if text in cycled:
                return True
    return False


def _contains_local_part(text: str, email: str) -> bool:
    local = normalize(email.rpartition("@")[0])
    return len(local) >= MIN_LOCAL_PART and local in text


def _load_common_passwords() -> frozenset[str]:
    raw = files("aetherflow_gateway.auth").joinpath("common_passwords.txt").read_text()
    lines = (line.strip() for line in raw.splitlines())
    return frozenset(normalize(line) for line in lines if line and line[0] != "#")


# Read once at import, so that no request waits on the disk.
COMMON_PASSWORDS = _load_common_passwords()
