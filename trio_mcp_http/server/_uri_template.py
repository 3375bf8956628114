"""URI templates for resource templates: RFC 6570 simple expansions, matched in reverse.

Supported expressions: ``{var}`` (level 1: one path segment, no ``/``) and ``{+var}`` (level 2
reserved expansion: any non-empty text, ``/`` included). Variable names must be Python
identifiers, since they name the function's parameters. Matched values are percent-decoded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, unquote

__all__ = ["UriTemplate", "is_template"]

_EXPRESSION: Final = re.compile(r"\{([^{}]*)\}")
_VARIABLE: Final = re.compile(r"(\+?)([A-Za-z_][A-Za-z0-9_]*)")


def is_template(uri: str) -> bool:
    """Whether ``uri`` contains template expressions."""
    return "{" in uri or "}" in uri


@dataclass(frozen=True, slots=True)
class UriTemplate:
    """A parsed URI template.

    Attributes:
        template: The template text.
        variables: The variable names, in order of appearance.
        reserved: For each variable, whether it is a ``{+var}`` expansion.
    """

    template: str
    variables: tuple[str, ...]
    reserved: tuple[bool, ...]
    _pattern: re.Pattern[str]

    @classmethod
    def parse(cls, template: str) -> UriTemplate:
        """Parse a template.

        Raises:
            ValueError: Unbalanced braces, an unsupported operator, an invalid or repeated
                variable name, or two expressions with nothing between them.
        """
        regex: list[str] = []
        variables: list[str] = []
        reserved: list[bool] = []
        position = 0
        for match in _EXPRESSION.finditer(template):
            literal = template[position : match.start()]
            if "{" in literal or "}" in literal:
                raise ValueError(f"unbalanced braces in URI template {template!r}")
            if variables and not literal:
                raise ValueError(f"adjacent expressions are ambiguous in {template!r}")
            regex.append(re.escape(literal))
            variable = _VARIABLE.fullmatch(match.group(1))
            if variable is None:
                raise ValueError(f"unsupported expression {match.group(0)!r} in {template!r}")
            plus, name = variable.groups()
            if name in variables:
                raise ValueError(f"variable {name!r} repeated in {template!r}")
            variables.append(name)
            reserved.append(bool(plus))
            regex.append(f"(?P<{name}>{'.+' if plus else '[^/]+'})")
            position = match.end()
        tail = template[position:]
        if "{" in tail or "}" in tail:
            raise ValueError(f"unbalanced braces in URI template {template!r}")
        if not variables:
            raise ValueError(f"URI template {template!r} has no variables")
        regex.append(re.escape(tail))
        return cls(template, tuple(variables), tuple(reserved), re.compile("".join(regex)))

    def match(self, uri: str) -> dict[str, str] | None:
        """The variables' values if ``uri`` matches the template, else ``None``."""
        found = self._pattern.fullmatch(uri)
        if found is None:
            return None
        return {name: unquote(value) for name, value in found.groupdict().items()}

    def expand(self, values: dict[str, str]) -> str:
        """Expand the template (``{var}`` percent-encodes all but unreserved characters)."""

        def replace(match: re.Match[str]) -> str:
            variable = _VARIABLE.fullmatch(match.group(1))
            assert variable is not None
            plus, name = variable.groups()
            return quote(values[name], safe=":/?#[]@!$&'()*+,;=" if plus else "")

        return _EXPRESSION.sub(replace, self.template)
