"""`column = ANY(array)`: a long list of ids as one query parameter."""

from typing import Any

from django.db.models import Lookup


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
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s::bigint[])", (*lhs_params, self.rhs)
        if not self.rhs:
            return "1 = 0", tuple(lhs_params)
        placeholders = ", ".join(["%s"] * len(self.rhs))
        return f"{lhs} IN ({placeholders})", (*lhs_params, *self.rhs)
