"""What a seller reads, as codes: the ``MessageCode`` enum and its parameters.

Log entries, sync events and run messages carry a code and its parameters beside the English
text (``gateway.messages`` lists them). Parameters are a list of ``{name, value}`` with string
values rather than a JSON scalar: codegen'd TypeScript clients get a typed
``Array<{ name: string; value: string | null }>`` with no custom scalar to map, and a page
turns it into the object its i18n library interpolates
(``Object.fromEntries(params.map(p => [p.name, p.value]))``). Numbers are written as plain
decimals (``1234``, ``1.5``), booleans as ``true`` / ``false``.
"""

from __future__ import annotations

from collections.abc import Mapping

import strawberry

from gateway.messages import MessageCode, ParamValue

strawberry.enum(
    MessageCode,
    description=(
        "What a log entry, a sync event or a run's message says, stable across versions: "
        "translate or render it with its params instead of the English text. LEGACY: "
        "written before codes existed; only the text says what it is."
    ),
)


@strawberry.type(description='A parameter of a coded text, e.g. {name: "created", value: "3"}.')
class MessageParam:
    name: str
    value: str | None


def _text(value: ParamValue) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def message_params(params: Mapping[str, ParamValue]) -> list[MessageParam]:
    return [MessageParam(name=name, value=_text(value)) for name, value in params.items()]
