"""Reading a leads file in the X Education CSV format: rows by line number, bad rows reported.

One reader for `rules backtest --data` and `import`: a file that cannot be used at all raises
`LeadsFileError`; a row that is not CSV-shaped is returned as a (line, problem) pair, and the rest
is read. Which columns mean what is `domain.xeducation`'s business, not this module's.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Collection
from dataclasses import dataclass, field

from domain.errors import LeadflowError
from domain.xeducation import ID_COLUMN

Row = tuple[int, dict[str, str]]


class LeadsFileError(LeadflowError):
    """The file cannot be read as a leads file at all (missing, not UTF-8, no header, no id column)."""


@dataclass
class LeadsFile:
    rows: list[Row] = field(default_factory=list)
    malformed: list[tuple[int, str]] = field(default_factory=list)


def read_leads_csv(path: str, expected: Collection[str] = (), limit: int | None = None) -> LeadsFile:
    """Data rows as (line, {column: value}); `limit` counts rows read, malformed ones included.

    Columns in `expected` that the header lacks are noted on stderr and read as empty."""
    found = LeadsFile()
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            try:
                header = [h.strip() for h in next(reader, [])]
            except csv.Error as exc:
                raise LeadsFileError(f"{path}:1: not valid CSV: {exc}") from None
            _check_header(path, header, expected)
            seen = 0
            while limit is None or seen < limit:
                line = reader.line_num + 1
                try:
                    fields = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    found.malformed.append((line, f"not valid CSV: {exc}"))
                    seen += 1
                    continue
                if not fields:
                    continue  # a blank line
                seen += 1
                if len(fields) != len(header):
                    found.malformed.append((line, f"has {len(fields)} fields; the header has {len(header)}"))
                    continue
                found.rows.append((line, dict(zip(header, fields, strict=True))))
    except FileNotFoundError:
        raise LeadsFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LeadsFileError(f"{path}: is a directory, not a CSV file") from None
    except UnicodeDecodeError as exc:
        raise LeadsFileError(f"{path}: is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except OSError as exc:
        raise LeadsFileError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    return found


def _check_header(path: str, header: list[str], expected: Collection[str]) -> None:
    if not any(header):
        raise LeadsFileError(f"{path}: is empty; expected a header line with the X Education columns")
    duplicates = sorted({h for h in header if h and header.count(h) > 1})
    if duplicates:
        raise LeadsFileError(f"{path}:1: column(s) named twice: {', '.join(duplicates)}")
    if ID_COLUMN not in header:
        raise LeadsFileError(f"{path}:1: no {ID_COLUMN!r} column; is this a leads file in the X Education format?")
    absent = sorted(set(expected) - set(header))
    if absent:
        print(f"{path}:1: note: column(s) absent, read as empty: {', '.join(absent)}", file=sys.stderr)
