"""The TUI's colours, taken from the app's Textual theme: values in the theme's success colour,
gradients in its warning colour, nan/inf on its error colour, and so on, so a light theme (or
any other: Ctrl+P, "Change theme") stays readable. NO_COLOR is Textual's to honour: it turns
the whole screen monochrome.

Widgets and the functions that build their Rich text ask `style(role)` while they draw: it
reads the theme of the app that is drawing (Textual's `active_app`), so nothing needs passing
down and a change of theme shows at the next redraw. Outside an app (a test of a plain
function) the dark theme's colours are used.
"""
from __future__ import annotations

from textual import active_app
from textual.color import Color
from textual.theme import BUILTIN_THEMES, Theme

FALLBACK = "textual-dark"
_made: dict = {}          # theme name -> its styles


def style(spec: str) -> str:
    """A Rich style string with each role in `spec` (a key of _styles, as in "bold backward")
    replaced by the current theme's colour for it; other words ("bold", "dim") kept."""
    roles = styles()
    return " ".join(roles.get(word, word) for word in spec.split())


def styles() -> dict:
    """Every role's style (render.tensor_table and value_text take them as `colours`)."""
    try:
        theme = active_app.get().current_theme
    except LookupError:
        theme = BUILTIN_THEMES[FALLBACK]
    if theme.name not in _made:
        _made[theme.name] = _styles(theme)
    return _made[theme.name]


def _styles(theme: Theme) -> dict:
    v = theme.to_color_system().generate()

    def fg(name: str) -> str:
        return Color.parse(v[name]).rich_color.name

    def badge(name: str) -> str:          # bold text on the colour, in its contrasting colour
        back = Color.parse(v[name])
        return f"bold {back.get_contrast_text(1.0).rich_color.name} on {back.rich_color.name}"

    return {
        "forward": fg("text-success"),        # values, forward edges
        "backward": fg("text-warning"),       # gradients, backward edges
        "update": fg("text-secondary"),       # a param's update
        "check": fg("text-error"),            # a backward rule failing its check
        "error": fg("text-error"),            # a command's error, a watch that cannot be read
        "bad": badge("error"),                # nan or inf, where it must stand out
        "nonfinite": f"bold {fg('text-error')}",   # nan or inf in a line of text
        "breakpoint": f"bold {fg('text-error')}",
        "key": f"bold {fg('text-primary')}",  # keys and aliases in the help
        "plot": fg("text-primary"),           # the loss curve
        "positive": fg("text-success"),       # tensor cells by sign; strong: large ones
        "strong-positive": f"bold {fg('text-success')}",
        "negative": fg("text-primary"),
        "strong-negative": f"bold {fg('text-primary')}",
        "pass-forward": badge("success"),     # the banner's FORWARD, BACKWARD ...
        "pass-backward": badge("warning"),
        "pass-update": badge("secondary"),
        "pass-done": badge("primary"),
    }
