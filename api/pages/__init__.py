"""The manager's web pages (day board, job sheets, exports, what-if), served by the same app."""

from api.pages.routes import router as router

__all__ = ["router"]
