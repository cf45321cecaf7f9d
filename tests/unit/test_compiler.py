"""The compiler's plans give the same answers as the plain one: compiled SQL is reused across
requests of one shape, with each request's own values bound."""

from __future__ import annotations

import datetime as dt

from metrics.compiler import QueryRequest, normalise_where, request_shape


def test_requests_of_one_shape_share_their_sql_and_bind_their_own_values(tiny):
    first = tiny.query("mqls", grain="total", start="2025-01-01", where={"segment": "SMB"})
    second = tiny.query("mqls", grain="total", start="2025-02-01", where={"segment": "Enterprise"})
    assert first.attrs["sql"] == second.attrs["sql"]
    assert (first["value"][0], second["value"][0]) == (3, 0)  # L1 L5 L6 / L2 is in January
    shapes = {request_shape(QueryRequest(start=dt.datetime(2025, m, 1),
                                         where=normalise_where({"region": r})))
              for m, r in ((1, "NA"), (2, "EMEA"))}
    assert len(shapes) == 1
