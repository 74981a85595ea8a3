"""Reading one record against its entity's columns (`records`): tolerant decoding (lone
surrogates and NUL repaired, and the record flagged), integers range-checked against their
column type, dates parsed strictly, and the payload's canonical text and hash. A value that
cannot be read raises RecordError naming the entity, the record, the field and the reason.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import date, datetime

import orjson

from pipeline.buildos.records import (
    Column,
    EntitySpec,
)

# The range each integer column type can hold (DuckDB `integer` is 32-bit).
INTEGER_RANGE = (-(2**31), 2**31 - 1)
SURROGATES = re.compile("[\ud800-\udfff]")
DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")


class RecordError(ValueError):
    """A record that cannot be read: names the entity, the record and the field."""

    def __init__(self, entity: str, record_id: str | None, field: str, reason: str):
        self.entity, self.record_id, self.field, self.reason = entity, record_id, field, reason
        where = f"{entity} record {record_id}" if record_id else f"{entity} record without an id"
        super().__init__(f"{where}: field {field!r}: {reason}")


def payload_text(record) -> bytes:
    """The payload as stored in raw: the record's JSON with sorted keys, so that one content
    has one text and one hash whatever order the server sends its keys in. orjson refuses an
    integer past 64 bits: the stdlib writes it (the record is then rejected by its column)."""
    try:
        return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        if _has_surrogates(record):
            raise  # landing repairs the text first
        return json.dumps(
            record, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()


def _has_surrogates(value) -> bool:
    if isinstance(value, str):
        return SURROGATES.search(value) is not None
    if isinstance(value, dict):
        return any(_has_surrogates(k) or _has_surrogates(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogates(v) for v in value)
    return False


def hash_text(text: bytes) -> str:
    return hashlib.blake2b(text, digest_size=16).hexdigest()


def payload_hash(record) -> str:
    return hash_text(payload_text(record))


def _read(spec: EntitySpec, record_id: str | None, column: Column, value):
    if value is None:
        if column.required:
            raise RecordError(spec.name, record_id, column.name, "is missing or null")
        return None
    kind = column.type
    if kind == "json":
        # Sorted keys: one content, one text, whether it came from the API or from a stored
        # payload (which is kept with sorted keys).
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    if kind == "varchar":
        if not isinstance(value, str):
            raise RecordError(
                spec.name,
                record_id,
                column.name,
                f"expected text, got {type(value).__name__} {value!r}",
            )
        if column.enum is not None and value not in column.enum:
            raise RecordError(
                spec.name,
                record_id,
                column.name,
                f"unknown value {value!r} (expected one of {', '.join(sorted(column.enum))})",
            )
        return value
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise RecordError(
                spec.name,
                record_id,
                column.name,
                f"expected an integer, got {type(value).__name__} {value!r}",
            )
        low, high = INTEGER_RANGE
        if not low <= value <= high:
            raise RecordError(
                spec.name, record_id, column.name, f"{value} is out of range ({low} to {high})"
            )
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise RecordError(
                spec.name, record_id, column.name, f"expected true or false, got {value!r}"
            )
        return value
    if kind in ("timestamptz", "date"):
        if not isinstance(value, str):
            raise RecordError(
                spec.name, record_id, column.name, f"expected an ISO 8601 {kind}, got {value!r}"
            )
        try:
            if kind == "date":
                # Strict: a bare date, or a whole timestamp; never a date with trailing text.
                if DATE_TEXT.fullmatch(value):
                    return date.fromisoformat(value)
                return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise RecordError(
                spec.name, record_id, column.name, f"{value!r} is not an ISO 8601 {kind}"
            ) from exc
        if parsed.tzinfo is None:
            raise RecordError(spec.name, record_id, column.name, f"{value!r} has no UTC offset")
        return parsed
    raise AssertionError(f"column type {kind} has no reader")


def is_uuid(value) -> bool:
    """An id that is safe to put in a route or a path: a UUID, in its canonical text."""
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def repair_text(record):
    """The record with every lone surrogate (what a server slicing an emoji in half, or
    invalid UTF-8 decoded with surrogateescape, leaves) replaced by U+FFFD and every NUL
    removed, and the top-level fields that were repaired. Only called for records that need
    it, so a clean record costs nothing."""
    repaired: set[str] = set()

    def fix(value, top: str):
        if isinstance(value, str):
            clean = SURROGATES.sub("\ufffd", value).replace("\x00", "")
            if clean != value:
                repaired.add(top)
            return clean
        if isinstance(value, dict):
            return {fix(k, top or "(key)"): fix(v, top or k) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v, top) for v in value]
        return value

    return fix(record, ""), sorted(repaired)


def read_values(spec: EntitySpec, record, fallback: dict | None = None) -> tuple:
    """The typed values of one API record, in `spec.columns` order (raises RecordError).
    `fallback` supplies columns the route leaves out (project_id of a project's children).
    A tuple, not a dict: the sync appends it straight to per-column lists for Arrow."""
    if not isinstance(record, dict):
        raise RecordError(
            spec.name, None, "(record)", f"expected a JSON object, got {type(record).__name__}"
        )
    raw_id = record.get(spec.id_field)
    record_id = raw_id if isinstance(raw_id, str) and raw_id else None
    if record_id is None:
        raise RecordError(spec.name, None, spec.id_field, "is missing or not text")
    get = record.get
    if fallback:
        for name, expected in fallback.items():
            own = get(name)
            if own is not None and own != expected:
                raise RecordError(
                    spec.name,
                    record_id,
                    name,
                    f"is {own!r}, but the record was fetched under {expected!r}",
                )
        return tuple(
            _read(spec, record_id, column, _or(get(column.name), fallback.get(column.name)))
            for column in spec.columns
        )
    return tuple(_read(spec, record_id, column, get(column.name)) for column in spec.columns)


def _or(value, fallback):
    return fallback if value is None else value


def read_record(spec: EntitySpec, record, fallback: dict | None = None) -> dict:
    """The typed row of one API record as a dict keyed by column (the id column is `id`)."""
    return dict(zip(spec.row_names, read_values(spec, record, fallback), strict=True))
