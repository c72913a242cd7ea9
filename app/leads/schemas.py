"""Request parameter types shared by the lead pages and the API."""

from typing import Annotated

from litestar.params import QueryParameter

# `scope` is reserved by Litestar (the ASGI scope), so the query parameter needs an explicit alias.
OwnerScope = Annotated[str, QueryParameter(name="scope", description="`mine` or `pool` to narrow the list")]
