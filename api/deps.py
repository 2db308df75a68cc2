"""FastAPI dependencies: the process's service context and request headers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from api.services.context import Context


def get_context(request: Request) -> Context:
    """The context made by ``create_app`` for this process."""
    ctx: Context = request.app.state.context
    return ctx


ContextDep = Annotated[Context, Depends(get_context)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Retries with the same key get the first answer and never act twice.",
    ),
]
