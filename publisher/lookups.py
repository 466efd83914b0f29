"""Long lists of values as one query parameter: `column = ANY(array)` and array literals."""

from collections.abc import Iterable
from typing import Any

from django.db.models import Lookup


def integer_array(values: Iterable[int]) -> str:
    """A PostgreSQL array literal of whole numbers, for a `%s::bigint[]` parameter. The
    driver's own list adapter quotes each element in Python, which at a send batch's 500
    values cost more than the statement took to run."""
    return "{" + ",".join(str(int(value)) for value in values) + "}"


def text_array(values: Iterable[str]) -> str:
    """A PostgreSQL array literal of strings, for a `%s::text[]` parameter: every element
    double-quoted, with its backslashes and double quotes escaped (the array syntax's rules)."""
    quoted = ('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values)
    return "{" + ",".join(quoted) + "}"


def any_of_sql(column: str, values: list[int], vendor: str) -> tuple[str, list[Any]]:
    """`column` is one of `values`, as SQL and its parameters: one array on PostgreSQL, an IN
    list elsewhere (SQLite, for `make run`)."""
    if vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])", [integer_array(values)]
    if not values:
        return "1 = 0", []
    return f"{column} IN ({', '.join(['%s'] * len(values))})", [int(v) for v in values]


class AnyOf(Lookup):
    """`AnyOf(F("pk"), ids)` in a `filter()`: like `pk__in=ids`, but on PostgreSQL the ids
    travel as one array. A `pk__in` of a send batch's 500 ids made 500 placeholders that
    Django prepared one by one and the driver parsed out of a long query text each time,
    which cost the fan-out more CPU than its SQL took to run. Elsewhere it is an IN list."""

    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self) -> list[int]:
        return [int(value) for value in self.rhs]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        sql, params = any_of_sql(lhs, self.rhs, connection.vendor)
        return sql, (*lhs_params, *params)
