"""Custom task templates: Liquid with Ground Truth's filters, autoescaped, bounded, no files."""

import json

import pytest

from marketplace import task_templates
from marketplace.task_templates import (
    TaskTemplateError,
    render_task_template,
    template_syntax_error,
)

TASK_INPUT = {
    "taskObject": "s3://groundwork-test/images/0.png",
    "question": 'Is <b>this</b> a "cat" & a dog?',
    "escaped": "Tom &amp; Jerry <i>",
    "labels": ["cat", "dog</script><script>alert(1)</script>", "it's"],
}


def render(source: str, **kwargs) -> str:
    return render_task_template(source, task_input=TASK_INPUT, **kwargs)


def test_task_input_is_autoescaped():
    assert render("<p>{{ task.input.question }}</p>") == (
        "<p>Is &lt;b&gt;this&lt;/b&gt; a &#34;cat&#34; &amp; a dog?</p>"
    )


def test_escape_escapes_once_with_autoescape_on():
    assert render("{{ task.input.question | escape }}") == (
        "Is &lt;b&gt;this&lt;/b&gt; a &#34;cat&#34; &amp; a dog?"
    )
    assert render("{{ task.input.question | skip_autoescape | escape }}") == (
        "Is &lt;b&gt;this&lt;/b&gt; a &#34;cat&#34; &amp; a dog?"
    )


def test_escape_once_leaves_entities_already_escaped():
    assert render("{{ task.input.escaped | escape_once }}") == "Tom &amp; Jerry &lt;i&gt;"
    assert render("{{ task.input.escaped | escape_once | skip_autoescape }}") == (
        "Tom &amp; Jerry &lt;i&gt;"
    )


def test_skip_autoescape_outputs_the_value_as_given():
    assert render("{{ task.input.question | skip_autoescape }}") == TASK_INPUT["question"]
    assert render("[{{ task.input.missing | skip_autoescape }}]") == "[]"


def test_to_json_fits_an_attribute_when_autoescaped():
    out = render("<x data-labels='{{ task.input.labels | to_json }}'>")

    assert out == (
        "<x data-labels='[&#34;cat&#34;,&#34;dog\\u003c/script\\u003e\\u003cscript\\u003e"
        "alert(1)\\u003c/script\\u003e&#34;,&#34;it&#39;s&#34;]'>"
    )


def test_to_json_cannot_close_a_script_element():
    out = render("<script>var input = {{ task.input | to_json | skip_autoescape }};</script>")

    body = out.removeprefix("<script>var input = ").removesuffix(";</script>")
    assert "</" not in body and "<" not in body
    assert json.loads(body) == TASK_INPUT
    assert render("{{ task.input.missing | to_json }}") == "null"


def test_grant_read_access_asks_the_render_hook_and_escapes_its_url():
    asked = []

    def read_url(uri: str) -> str:
        asked.append(uri)
        return "https://storage.example/images/0.png?X-Amz-Signature=ab&X-Amz-Expires=300"

    out = render('<img src="{{ task.input.taskObject | grant_read_access }}">', read_url=read_url)

    assert asked == ["s3://groundwork-test/images/0.png"]
    assert out == (
        '<img src="https://storage.example/images/0.png?X-Amz-Signature=ab&amp;X-Amz-Expires=300">'
    )


def test_grant_read_access_outside_a_task_render_grants_nothing():
    template = task_templates.environment().from_string(
        "[{{ task.input.taskObject | grant_read_access }}]"
    )

    assert template.render(task={"input": TASK_INPUT}) == "[]"
    assert render("[{{ task.input.taskObject | grant_read_access }}]") == "[]"
    assert render("[{{ task.input.labels | grant_read_access }}]", read_url=str) == "[]"


@pytest.mark.parametrize(
    "source",
    ['{% include "settings.py" %}', "{% render '/etc/passwd' %}"],
)
def test_other_templates_cannot_be_included(source):
    assert template_syntax_error(source).startswith("line 1: unexpected tag")
    with pytest.raises(TaskTemplateError):
        render(source)


def test_a_loop_past_the_iteration_limit_fails():
    source = "{% for i in (1..100) %}{% for j in (1..200) %}.{% endfor %}{% endfor %}"

    assert template_syntax_error(source) is None
    with pytest.raises(TaskTemplateError, match="loop iteration limit reached"):
        render(source)


def test_output_past_the_size_limit_fails():
    source = (
        "{% capture s %}{% for i in (1..5000) %}0123456789{% endfor %}{% endcapture %}"
        "{% for i in (1..5000) %}{{ s }}{% endfor %}"
    )

    with pytest.raises(TaskTemplateError, match="limit"):
        render(source)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("<p>\n{% if task.input %}\n<b>open", "line 3: expected tag endif"),
        ("<p>\n{% if task.input %}\n{% endfor %}", "line 3: unexpected tag 'endfor'"),
        ("a\nb\n{% for %}", "line 3: missing expression"),
        ("<p>\n\n\n{{ task.input | grant_write_access }}</p>", "line 4: unknown filter"),
    ],
)
def test_a_syntax_error_is_one_line_with_its_line_number(source, reason):
    error = template_syntax_error(source)

    assert error.startswith(reason)
    assert "\n" not in error


def test_a_template_too_long_is_refused():
    source = "x" * (task_templates.MAX_TEMPLATE_CHARS + 1)

    assert template_syntax_error(source) == "the template is longer than 100,000 characters"
    assert template_syntax_error("x" * task_templates.MAX_TEMPLATE_CHARS) is None


def test_a_ground_truth_template_renders():
    source = (
        '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>\n'
        "<crowd-form>\n"
        '  <img src="{{ task.input.taskObject | grant_read_access }}" style="max-width: 100%">\n'
        "  <p>{{ task.input.question | escape }}</p>\n"
        "  {% for label in task.input.labels %}<label>{{ label }}</label>{% endfor %}\n"
        "</crowd-form>"
    )

    assert template_syntax_error(source) is None
    out = render(source, read_url=lambda uri: "https://s.example/0.png")
    assert '<img src="https://s.example/0.png"' in out
    assert "<label>dog&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;</label>" in out
