"""The Subject header, encoded and folded so that no mail client loses a space.

The standard library's folder may end an RFC 2047 encoded word just before a space and start
the next one with it; the whitespace between two encoded words is not text, so clients show
"KarenØstergård". Here every word that needs encoding is encoded whole (a space between two
such words goes inside the first one as `_`), and lines are folded only at spaces.
"""

from __future__ import annotations

MAX_LINE = 78  # RFC 5322's recommended line length, including "Subject: "
_PREFIX = "=?utf-8?q?"
_SUFFIX = "?="
# RFC 2047: an encoded word is at most 75 characters; here at most what fits on the first line
# after "Subject: ", so every token fits on any line.
_ENCODED_MAX = min(75, MAX_LINE - len("Subject: ")) - len(_PREFIX) - len(_SUFFIX)
_LITERAL = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")


def _q(text: str) -> str:
    """`text` in RFC 2047 Q encoding (UTF-8), space as `_`."""
    out = []
    for byte in text.encode("utf-8"):
        if byte in _LITERAL:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("_")
        else:
            out.append(f"={byte:02X}")
    return "".join(out)


def _needs_encoding(word: str, room: int) -> bool:
    return (any(not 0x21 <= ord(c) <= 0x7E for c in word) or "=?" in word
            or len(word) > room)


def _encoded_words(pieces: list[str]) -> list[str]:
    """Encoded words holding `pieces` (each a word, with its following space if any), split
    between pieces; a piece too long for one encoded word is split between characters."""
    words: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(_q(current + piece)) <= _ENCODED_MAX:
            current += piece
            continue
        if current:
            words.append(current)
            current = ""
        for char in piece:
            if len(_q(current + char)) > _ENCODED_MAX:
                words.append(current)
                current = ""
            current += char
    if current:
        words.append(current)
    return [f"{_PREFIX}{_q(word)}{_SUFFIX}" for word in words]


def subject_header(subject: str) -> str:
    """The Subject header's value (without `Subject: `): ASCII, lines of at most `MAX_LINE`
    characters (the first counted with `Subject: `), folded only at spaces. Runs of whitespace
    become one space. A line break in `subject` raises ValueError, as `EmailMessage` does."""
    if len(subject.splitlines()) > 1 or "\r" in subject or "\n" in subject:
        raise ValueError("Header values may not contain linefeed or carriage return characters")
    room = MAX_LINE - len("Subject: ")
    words = subject.split()
    tokens: list[str] = []
    run: list[str] = []
    for index, word in enumerate(words + [""]):
        if index < len(words) and _needs_encoding(word, room):
            run.append(word)
            continue
        if run:
            tokens.extend(_encoded_words([w + " " for w in run[:-1]] + [run[-1]]))
            run = []
        if index < len(words):
            tokens.append(word)
    lines: list[str] = []
    line = ""
    used = len("Subject: ")
    for token in tokens:
        if line and used + len(line) + 1 + len(token) > MAX_LINE:
            lines.append(line)
            line, used = "", 1
        line = f"{line} {token}" if line else token
    lines.append(line)
    return "\n ".join(lines)
