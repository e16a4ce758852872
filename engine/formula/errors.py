"""The one error a formula raises: what was wrong, where, and the formula quoted."""

from __future__ import annotations

_WINDOW = 60  # characters of the formula quoted on each side of the column


class FormulaError(ValueError):
    """A formula that cannot be used, with a message naming what was wrong and what was
    expected. ``column`` is 1-based (None when the problem has no place in the text,
    e.g. a parameter name); ``str()`` quotes the formula with a caret under the column.
    """

    def __init__(self, message: str, text: str, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.text = text
        self.column = column

    def __str__(self) -> str:
        text = self.text
        if self.column is None:
            if len(text) > 2 * _WINDOW:
                text = text[: 2 * _WINDOW] + "…"
            return f"{self.message}\n    {text}"
        # a window of the (one-line) formula around the column, control characters shown
        # as spaces so that the caret stays under its character
        lo = max(0, self.column - 1 - _WINDOW)
        hi = min(len(text), self.column - 1 + _WINDOW)
        shown = "".join(c if c.isprintable() else " " for c in text[lo:hi])
        pre = "…" if lo > 0 else ""
        post = "…" if hi < len(text) else ""
        caret = " " * (len(pre) + self.column - 1 - lo) + "^"
        return f"{self.message}\n    {pre}{shown}{post}\n    {caret}"
