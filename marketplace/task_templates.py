"""Custom task templates: Liquid (python-liquid 2) with Ground Truth's filters, in a sandbox.

A template sees one variable, `task` (`{"input": <task input>}`), and nothing of the server:
no settings, no files (`include` and `render` are not tags here, so a template naming another
template does not parse), no other task. Rendering is bounded in loop iterations, output size and
context depth. Output is HTML-escaped unless a filter marks it safe.

Filters, as Ground Truth documents them:
- `escape`: HTML-escape (once, also with autoescape on); `escape_once`: escape, leaving entities
  already escaped as they are;
- `skip_autoescape`: output the value as it is (HTML the requester means to show);
- `to_json`: the value as JSON. `<`, `>` and `&` are written as `\\u003c`, `\\u003e`, `\\u0026`, so
  the JSON can never close a `<script>` element: autoescaped it fits an HTML attribute
  (`categories="{{ task.input.labels | to_json }}"`), and inside `<script>` it is used as
  `{{ task.input | to_json | skip_autoescape }}`;
- `grant_read_access`: an S3 URI → a short-lived URL to read it. Only a render started by
  `render_task_template` with a `read_url` callback can grant access (the worker's lease
  decides what and for how long); anywhere else it renders as an empty string.

This module belongs to the marketplace app so that the job spec serializer can check a template
with `template_syntax_error` without importing the task domain.
"""

import html
import json
from collections.abc import Callable
from functools import cache, lru_cache
from typing import Any

import markupsafe
from liquid import BoundTemplate, Environment, Markup, RenderContext
from liquid.exceptions import LiquidError, TemplateNotFoundError
from liquid.filter import string_filter, with_context
from liquid.loader import BaseLoader
from liquid.output import LimitedStringIO
from liquid.stringify import to_liquid_string
from liquid.undefined import is_undefined

MAX_TEMPLATE_CHARS = 100_000
LOOP_ITERATION_LIMIT = 10_000
OUTPUT_LIMIT_BYTES = 2_000_000
CONTEXT_DEPTH_LIMIT = 20  # nested blocks (loops) in one template
LOCAL_NAMESPACE_LIMIT_BYTES = 1_000_000
REMOVED_TAGS = ("include", "render")

_READ_URL_HOOK = "groundwork.read_url"
_JSON_ESCAPE_TABLE = str.maketrans(
    {
        "<": "\\u003c",
        ">": "\\u003e",
        "&": "\\u0026",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)

ReadUrl = Callable[[str], str]


class TaskTemplateError(Exception):
    """A template that cannot be parsed or rendered; the message is one line with its place."""


class _NoTemplates(BaseLoader):
    """Task templates never load other templates, from disk or anywhere else."""

    def get_source(self, env, template_name, *, context=None, **kwargs):
        raise TemplateNotFoundError(template_name, token=None)


class TaskTemplateEnvironment(Environment):
    loop_iteration_limit = LOOP_ITERATION_LIMIT
    output_stream_limit = OUTPUT_LIMIT_BYTES
    context_depth_limit = CONTEXT_DEPTH_LIMIT
    local_namespace_limit = LOCAL_NAMESPACE_LIMIT_BYTES


@string_filter
def escape(value: str) -> Markup:
    return markupsafe.escape(str(value))


@string_filter
def escape_once(value: str) -> Markup:
    return markupsafe.escape(html.unescape(str(value)))


def skip_autoescape(value: Any) -> Markup:
    if is_undefined(value) or value is None:
        return Markup("")
    return Markup(to_liquid_string(value, autoescape=False))


def to_json(value: Any) -> str:
    if is_undefined(value):
        value = None
    text = json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
    return text.translate(_JSON_ESCAPE_TABLE)


@with_context
def grant_read_access(value: Any, *, context: RenderContext) -> str:
    read_url = _read_url_hook(context)
    if read_url is None or not isinstance(value, str) or not value:
        return ""
    return read_url(value)


def _read_url_hook(context: RenderContext | None) -> ReadUrl | None:
    while context is not None:
        hook = context.tag_namespace.get(_READ_URL_HOOK)
        if hook is not None:
            return hook
        context = context.parent_context
    return None


@cache
def environment() -> Environment:
    env = TaskTemplateEnvironment(autoescape=True, loader=_NoTemplates(), strict_filters=True)
    for tag in REMOVED_TAGS:
        env.tags.pop(tag, None)
    env.add_filter("escape", escape)
    env.add_filter("escape_once", escape_once)
    env.add_filter("skip_autoescape", skip_autoescape)
    env.add_filter("to_json", to_json)
    env.add_filter("grant_read_access", grant_read_access)
    return env


def _line_of(source: str, index: int) -> int:
    return source.count("\n", 0, max(index, 0)) + 1


def _reason(error: LiquidError, source: str, *, parsing: bool = False) -> str:
    message = str(error.message or type(error).__name__).splitlines()[0]
    token = error.token
    if token is not None and token.start_index >= 0 and token.source == source:
        return f"line {_line_of(source, token.start_index)}: {message}"
    if parsing:  # the parser reached the end of the template still expecting something
        return f"line {_line_of(source, len(source))}: {message}"
    return message


@lru_cache(maxsize=64)
def _parse(source: str) -> BoundTemplate:
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TaskTemplateError(f"the template is longer than {MAX_TEMPLATE_CHARS:,} characters")
    env = environment()
    try:
        template = env.from_string(source)
    except LiquidError as error:
        raise TaskTemplateError(_reason(error, source, parsing=True)) from None
    unknown = {
        name: spans
        for name, spans in template.analyze(include_partials=False).filters.items()
        if name not in env.filters
    }
    if unknown:
        first = min((span.index, name) for name, spans in unknown.items() for span in spans)
        raise TaskTemplateError(f"line {_line_of(source, first[0])}: unknown filter '{first[1]}'")
    return template


def template_syntax_error(source: str) -> str | None:
    """None when the template parses, else one line saying why, with the line number."""
    try:
        _parse(source)
    except TaskTemplateError as error:
        return str(error)
    return None


def render_task_template(source: str, *, task_input: Any, read_url: ReadUrl | None = None) -> str:
    """Render a task template with `task.input`; `read_url` turns an S3 URI into a URL the
    worker may read (or "") for `grant_read_access`. TaskTemplateError when it fails."""
    template = _parse(source)
    context = RenderContext(
        template, globals=template.make_globals({"task": {"input": task_input}})
    )
    if read_url is not None:
        context.tag_namespace[_READ_URL_HOOK] = read_url
    buffer = LimitedStringIO(limit=OUTPUT_LIMIT_BYTES)
    try:
        template.render_with_context(context, buffer)
    except LiquidError as error:
        raise TaskTemplateError(_reason(error, source)) from None
    return buffer.getvalue()
