"""A count and its word, for every line a reader sees: "1 window", "3 windows", never "window(s)"."""

from __future__ import annotations


def counted(count: int, forms: str) -> str:
    """``count`` and the words ``forms`` gives for one and for any other count ("window|windows";
    Spanish as English: 1 is the only singular): "1 window", "0 windows"."""
    one, many = forms.split("|")
    return f"{count} {one if count == 1 else many}"


def plural(forms: str) -> str:
    """The words ``forms`` gives for more than one ("window|windows" -> "windows"): a chart's label."""
    return forms.split("|")[1]
