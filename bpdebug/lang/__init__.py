"""The bpdebug language: grammar loading, the AST, and BpError."""
from .errors import BpError, Span, did_you_mean
from .parser import parse_condition, parse_program, strip_comment

__all__ = ["BpError", "Span", "did_you_mean", "parse_condition", "parse_program", "strip_comment"]
