"""kubesim.selectors: label selectors (query strings and LabelSelector objects) and field selectors."""
from __future__ import annotations

import pytest

from kubesim import errors
from kubesim.selectors import (
    EVERYTHING,
    NOTHING,
    FieldSelector,
    Requirement,
    field_value,
    label_selector_from_object,
    label_selector_to_string,
    parse_field_selector,
    parse_label_selector,
    selector_from_set,
)

LABELS = {"app": "web", "tier": "frontend", "env": "prod", "replicas": "3", "empty": ""}

QNAME_MSG = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
             "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
             "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
             "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
             "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")


def bad_request(fn, *args) -> str:
    with pytest.raises(errors.BadRequest) as info:
        fn(*args)
    assert info.value.code == 400 and info.value.reason == "BadRequest"
    return info.value.message


# --- label selector query strings -------------------------------------------


@pytest.mark.parametrize("selector, expected", [
    ("app=web", True),
    ("app==web", True),
    ("app=api", False),
    ("app!=api", True),
    ("app!=web", False),
    ("missing!=x", True),
    ("tier in (frontend,backend)", True),
    ("tier in (backend)", False),
    ("tier notin (backend)", True),
    ("tier notin (frontend)", False),
    ("missing notin (x)", True),
    ("missing in (x)", False),
    ("app", True),
    ("missing", False),
    ("!missing", True),
    ("!app", False),
    ("app=web,tier=frontend", True),
    ("app=web,tier=backend", False),
    ("empty=", True),
    ("empty in ()", True),
    ("replicas>2", True),
    ("replicas<3", False),
    ("app>2", False),
    ("", True),
])
def test_a_parsed_label_selector_matches_labels_like_kubernetes(selector, expected):
    assert parse_label_selector(selector).matches(LABELS) is expected


def test_label_selector_syntax_tolerates_whitespace_around_every_token():
    spaced = parse_label_selector("  app = web ,\ttier in ( frontend , backend ) , ! canary , env  ")
    assert str(spaced) == "app=web,!canary,env,tier in (backend,frontend)"
    assert spaced.matches(LABELS) is True


def test_a_parsed_label_selector_prints_in_kubernetes_canonical_form_sorted_by_key():
    selector = parse_label_selector("z notin (b,a),x in (foo,,baz),y,!w,v==1,u!=2,t>5")
    assert str(selector) == "t>5,u!=2,v==1,!w,x in (,baz,foo),y,z notin (a,b)"
    assert parse_label_selector(str(selector)) == selector


def test_in_and_notin_are_values_where_a_value_is_expected():
    selector = parse_label_selector("in in (in,notin)")
    assert [(r.key, r.operator, r.values) for r in selector.requirements] == [("in", "in", ("in", "notin"))]
    assert selector.matches({"in": "notin"}) is True


def test_an_empty_or_missing_label_selector_selects_everything():
    assert parse_label_selector("") is EVERYTHING
    assert parse_label_selector(None) is EVERYTHING
    assert parse_label_selector("   ") is EVERYTHING
    assert EVERYTHING.matches(None) is True and EVERYTHING.empty is True


def test_objects_without_labels_match_only_negative_requirements():
    assert parse_label_selector("!app,tier notin (x),env!=prod").matches(None) is True
    assert parse_label_selector("app").matches_object({"metadata": {}}) is False
    assert parse_label_selector("app=web").matches_object({"metadata": {"labels": {"app": "web"}}}) is True


@pytest.mark.parametrize("selector, message", [
    ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
    ("!", "unable to parse requirement: found '', expected: identifier"),
    ("a,", "found '', expected: identifier after ','"),
    (")", "found ')', expected: !, identifier, or 'end of string'"),
    ("!a=b", "found '=', expected: ',' or 'end of string'"),
    ("a in x", "unable to parse requirement: found 'x' expected: '('"),
    ("a in (x", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("a in (x y)", "unable to parse requirement: found 'y', expected: ',' or ')'"),
    ("a=(", "unable to parse requirement: found '(', expected: identifier"),
    ("a>b", "unable to parse requirement: values[0]: Invalid value: \"b\": for 'Gt', 'Lt' operators, "
            "the value must be an integer"),
    ("app:monolith", f'unable to parse requirement: <nil>: Invalid value: "app:monolith": {QNAME_MSG}'),
    ("a=b/c", f'unable to parse requirement: values[0][a]: Invalid value: "b/c": {VALUE_MSG}'),
    ("a/b/c ?=? def", "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified name must consist "
                      "of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
                      "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
                      "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' "
                      "(e.g. 'example.com/MyName')"),
    ("Example.com/a", "unable to parse requirement: <nil>: Invalid value: \"Example.com/a\": prefix part a lowercase "
                      "RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
                      "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation "
                      "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
    ("a=" + "x" * 64, "unable to parse requirement: values[0][a]: Invalid value: \"" + "x" * 64 + "\": must be no "
                      "more than 63 characters"),
])
def test_bad_label_selector_syntax_raises_bad_request_with_kubernetes_text(selector, message):
    assert bad_request(parse_label_selector, selector) == message


def test_requires_exact_match_reports_the_single_value_a_key_must_have():
    selector = parse_label_selector("app=web,tier in (a,b),env in (prod)")
    assert (selector.requires_exact_match("app"), selector.requires_exact_match("tier"),
            selector.requires_exact_match("env"), selector.requires_exact_match("other")) == ("web", None, "prod", None)


def test_parsed_selectors_are_equal_and_hashable_by_content():
    assert parse_label_selector("b=2,a=1") == parse_label_selector("a=1, b=2")
    assert len({parse_label_selector("b=2,a=1"), parse_label_selector("a=1,b=2")}) == 1


# --- LabelSelector objects ----------------------------------------------------


def test_a_label_selector_object_combines_match_labels_and_expressions():
    selector = label_selector_from_object({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["frontend", "backend"]},
            {"key": "canary", "operator": "DoesNotExist"},
            {"key": "env", "operator": "Exists"},
            {"key": "zone", "operator": "NotIn", "values": ["b"]},
        ],
    })
    assert str(selector) == "app=web,!canary,env,tier in (backend,frontend),zone notin (b)"
    assert (selector.matches(LABELS), selector.matches({**LABELS, "canary": "1"}),
            selector.matches({**LABELS, "zone": "b"})) == (True, False, False)


def test_an_empty_label_selector_object_matches_everything_and_a_missing_one_nothing():
    assert label_selector_from_object({}) is EVERYTHING
    assert label_selector_from_object({"matchLabels": {}, "matchExpressions": []}) is EVERYTHING
    assert label_selector_from_object(None) is NOTHING
    assert (EVERYTHING.matches({}), NOTHING.matches(LABELS), NOTHING.empty) == (True, False, False)


def test_a_label_selector_object_turns_into_query_string_form():
    assert label_selector_to_string({"matchLabels": {"b": "2", "a": "1"},
                                     "matchExpressions": [{"key": "c", "operator": "In", "values": ["y", "x"]},
                                                          {"key": "d", "operator": "DoesNotExist"}]}
                                    ) == "a=1,b=2,c in (x,y),!d"
    assert label_selector_to_string({}) == ""
    with pytest.raises(ValueError):
        label_selector_to_string(None)


def test_the_query_form_of_a_selector_object_parses_back_to_the_same_selector():
    obj = {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["a"]}]}
    assert parse_label_selector(label_selector_to_string(obj)) == label_selector_from_object(obj)


@pytest.mark.parametrize("obj, message", [
    ({"matchExpressions": [{"key": "a", "operator": "Matches", "values": ["x"]}]},
     '"Matches" is not a valid label selector operator'),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
     "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty"),
    ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
     'values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist'),
    ({"matchLabels": {"bad key": "x"}}, f'key: Invalid value: "bad key": {QNAME_MSG}'),
])
def test_an_invalid_label_selector_object_raises_bad_request(obj, message):
    assert bad_request(label_selector_from_object, obj) == message


def test_a_service_style_selector_map_matches_on_every_pair():
    selector = selector_from_set({"tier": "frontend", "app": "web"})
    assert (str(selector), selector.matches(LABELS), selector.matches({"app": "web"})) == (
        "app=web,tier=frontend", True, False)
    assert selector_from_set({}) is EVERYTHING and selector_from_set(None) is EVERYTHING


def test_a_requirement_built_directly_validates_like_new_requirement():
    assert Requirement.new("a", "in", ["y", "x", "x"]).values == ("x", "y")
    assert bad_request(Requirement.new, "a", "=", ["x", "y"]) == (
        'values: Invalid value: []string{"x", "y"}: exact-match compatibility requires one single value')


# --- field selectors -----------------------------------------------------------

POD = {"metadata": {"name": "web-1", "namespace": "default"}, "spec": {"nodeName": "node-a", "hostNetwork": False},
       "status": {"phase": "Running"}}
EVENT = {"involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default", "uid": "u-1"}, "type": "Warning",
         "reason": "BackOff"}


@pytest.mark.parametrize("selector, obj, expected", [
    ("metadata.name=web-1", POD, True),
    ("metadata.name==web-1", POD, True),
    ("metadata.name!=web-1", POD, False),
    ("metadata.namespace=default,status.phase=Running", POD, True),
    ("status.phase!=Running", POD, False),
    ("spec.nodeName=node-a,status.phase!=Failed", POD, True),
    ("spec.nodeName=", POD, False),
    ("spec.schedulerName=", POD, True),
    ("spec.schedulerName!=", POD, False),
    ("spec.hostNetwork=false", POD, True),
    ("involvedObject.kind=Pod,involvedObject.name=web-1,involvedObject.namespace=default", EVENT, True),
    ("involvedObject.uid=u-1,type=Warning", EVENT, True),
    ("involvedObject.uid=u-2", EVENT, False),
    ("type=Normal", EVENT, False),
    ("", POD, True),
])
def test_a_field_selector_compares_dotted_paths_as_strings(selector, obj, expected):
    assert parse_field_selector(selector).matches(obj) is expected


def test_field_values_read_missing_paths_as_empty_strings_and_booleans_in_go_form():
    assert [field_value(POD, p) for p in ("metadata.name", "spec.hostNetwork", "spec.missing.deeper",
                                          "metadata.name.deeper")] == ["web-1", "false", "", ""]


def test_a_field_selector_unescapes_values_and_prints_them_escaped():
    selector = parse_field_selector(r"metadata.name=a\,b\=c\\d")
    assert selector.terms == (("metadata.name", "=", "a,b=c\\d"),)
    assert str(selector) == r"metadata.name=a\,b\=c\\d"
    assert selector.matches({"metadata": {"name": "a,b=c\\d"}}) is True


def test_field_selector_terms_are_sorted_and_double_equals_reads_as_equals():
    selector = parse_field_selector("status.phase!=Failed,metadata.name==x")
    assert selector.terms == (("metadata.name", "=", "x"), ("status.phase", "!=", "Failed"))
    assert selector.fields == ("metadata.name", "status.phase")
    assert str(selector) == "metadata.name=x,status.phase!=Failed"


def test_exact_name_is_set_only_for_a_lone_metadata_name_equality():
    assert parse_field_selector("metadata.name=web-1").exact_name() == "web-1"
    assert parse_field_selector("metadata.name==web-1").exact_name() == "web-1"
    assert parse_field_selector("metadata.name!=web-1").exact_name() is None
    assert parse_field_selector("metadata.name=web-1,status.phase=Running").exact_name() is None
    assert parse_field_selector("").exact_name() is None
    assert parse_field_selector("metadata.name=web-1,status.phase=Running").requires_exact_match(
        "metadata.name") == "web-1"


@pytest.mark.parametrize("selector, message", [
    ("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"),
    ("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"),
    (r"a=b\x", r"invalid field selector: invalid escape sequence: \x"),
    ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
    ("a==b=c", "invalid field selector: unescaped character in value: 61"),
])
def test_bad_field_selectors_raise_bad_request_with_kubernetes_text(selector, message):
    assert bad_request(parse_field_selector, selector) == message


def test_empty_field_selector_terms_are_ignored():
    assert parse_field_selector(",metadata.name=a,") == FieldSelector((("metadata.name", "=", "a"),))
    assert parse_field_selector(None).empty is True
