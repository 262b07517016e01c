"""The posted form as a dependency, for the pages that parse it with app.forms.tasks."""

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData


async def submitted_form(request: Request) -> FormData:
    """The posted form (Starlette caches it; the CSRF check has read it already)."""
    return await request.form()


SubmittedForm = Annotated[FormData, Depends(submitted_form)]
