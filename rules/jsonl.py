"""JSON Lines in, JSON Lines out: the evaluation path of `fasthold rules evaluate`.

Each input line is decided on its own: an input error becomes an error object in that line's
place (`{"line", "case_id", "error"}`) and never stops the other lines. Empty lines are skipped
but counted, so line numbers match what an editor shows.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import orjson
from pydantic import ValidationError

from rules.engine import RulesEngine, RulesError
from rules.facts import CaseFacts, FactsError, describe, validation_errors


@dataclass(frozen=True, slots=True)
class LineResult:
    """The output object for one non-empty input line."""

    line: int
    output: dict[str, Any]
    ok: bool

    def to_jsonl(self) -> bytes:
        """The output line: compact JSON in UTF-8, newline-terminated."""
        return orjson.dumps(self.output, option=orjson.OPT_APPEND_NEWLINE)


def _input_error(number: int, case_id: object, message: str) -> LineResult:
    shown = case_id if isinstance(case_id, str) else None
    return LineResult(number, {"line": number, "case_id": shown, "error": message}, ok=False)


def evaluate_line(engine: RulesEngine, number: int, text: str | bytes,
                  as_of: date) -> LineResult:
    """Decide one line of input (contract: "Input errors")."""
    try:
        facts = CaseFacts.model_validate_json(text)
    except ValidationError as exc:
        invalid = exc
    else:
        return _decided(engine, number, facts, as_of)
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as json_exc:
        raw = _with_huge_numbers(text)
        if raw is None:
            return _input_error(number, None, f"not valid JSON: {json_exc}")
        try:
            return _decided(engine, number, CaseFacts.model_validate_json(orjson.dumps(raw)),
                            as_of)
        except ValidationError as exc:
            invalid = exc
    if not isinstance(raw, dict):
        return _input_error(number, None, "the line is not a JSON object")
    return _input_error(number, raw.get("case_id"), describe(validation_errors(invalid)))


def _with_huge_numbers(text: str | bytes) -> Any:
    """The line as JSON whose numbers lie beyond a double's range (`1e400`, an integer of
    400 digits: valid JSON, and finite — the contract decides "huge values" too), each such
    number the largest double of its sign, which every threshold judges alike; None when the
    line is no JSON at all."""
    def number(literal: str) -> float:
        exact = Decimal(literal)
        if abs(exact) > _LARGEST:
            return sys.float_info.max if exact > 0 else -sys.float_info.max
        return float(exact)

    def integer(literal: str) -> int | float:
        value = int(literal)
        return value if abs(value) < 2 ** 63 else number(literal)

    try:
        return json.loads(text, parse_float=number, parse_int=integer,
                          parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None


_LARGEST = Decimal(sys.float_info.max)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _decided(engine: RulesEngine, number: int, facts: CaseFacts, as_of: date) -> LineResult:
    try:
        decision = engine.decide(facts, as_of)
    except FactsError as exc:
        return _input_error(number, facts.case_id, str(exc))
    except RulesError as exc:
        # Not the input's fault, but the contract has no other answer than a line's error:
        # the other lines are still decided and the command never ends in a traceback.
        return _input_error(number, facts.case_id, f"the rules could not decide: {exc}")
    return LineResult(number, decision.to_json(), ok=True)


def evaluate_lines(engine: RulesEngine, lines: Iterable[str | bytes],
                   as_of: date) -> Iterator[LineResult]:
    """Decide every non-empty line, in order; line numbers count from 1, empty lines included."""
    for number, text in enumerate(lines, start=1):
        if number == 1:
            # Files saved by some Windows tools start with a byte order mark; it is not data.
            text = text.removeprefix(b"\xef\xbb\xbf") if isinstance(text, bytes) \
                else text.removeprefix("\ufeff")
        if not text.strip():
            continue
        yield evaluate_line(engine, number, text, as_of)
