"""If-Match as RFC 9110 §13.1.1 reads it: a list of entity tags or ``*``, compared strongly.

A well-formed tag that is not the item's current one is a failed precondition (412), whatever it
looks like; only a header that is not an entity-tag list is a 400. A weak tag never matches.
"""

import re
from dataclasses import dataclass

from overlays.errors import InvalidQuery, VersionConflict

# entity-tag = [ W/ ] DQUOTE *etagc DQUOTE ; etagc = %x21 / %x23-7E / obs-text
# One list element (RFC 9110 §5.6.1: comma-separated, optional spaces, empty elements allowed).
_ELEMENT = re.compile(r'[ \t]*(?:(?P<weak>W/)?"(?P<tag>[\x21\x23-\x7e\x80-\xff]*)")?[ \t]*(?:,|$)')


@dataclass(frozen=True)
class IfMatch:
    """A parsed If-Match header: any (``*``) or the strong tags it names (weak ones are dropped)."""

    any: bool
    strong: frozenset[str]

    def admits(self, fid: str, version: int) -> int | None:
        """The version the write must still find (None for ``*``), or VersionConflict (412)."""
        if self.any:
            return None
        if str(version) in self.strong:
            return version
        raise VersionConflict(fid, version)


def parse_if_match(value: str | None) -> IfMatch | None:
    """None without the header; 400 (InvalidQuery) when it is not ``*`` or an entity-tag list."""
    if value is None:
        return None
    text = value.strip()
    if text == "*":
        return IfMatch(any=True, strong=frozenset())
    strong: set[str] = set()
    seen, position = 0, 0
    while position < len(text):
        match = _ELEMENT.match(text, position)
        if match is None or match.end() == position:
            raise InvalidQuery(
                f"If-Match: '{value}' is not a list of entity tags; send the item's ETag as "
                'it came, e.g. If-Match: "3", or *'
            )
        if match.group("tag") is not None:
            seen += 1
            if match.group("weak") is None:
                strong.add(match.group("tag"))
        position = match.end()
    if not seen:
        raise InvalidQuery(f"If-Match: '{value}' is not a list of entity tags; it names none")
    return IfMatch(any=False, strong=frozenset(strong))
