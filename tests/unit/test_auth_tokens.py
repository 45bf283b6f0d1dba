"""tasks.auth_tokens: hashed tokens with PGO v4 roles and namespaces, compared in constant time."""
from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest

import tasks.auth_tokens as auth_tokens
from tasks.auth_tokens import (
    ROLES,
    Principal,
    TokenEntry,
    add_token,
    hash_token,
    load_tokens,
    main,
    parse_tokens,
    render_tokens_file,
)
from tasks.settings import DEFAULT_CONF_DIR, Secret, SettingsError

TOKENS = {"ci": "brq_ci-token-0001", "viewer": "brq_viewer-token-0002", "admin": "brq_admin-token-0003"}


def entries() -> list[dict]:
    return [
        {"name": "ci", "hash": hash_token(TOKENS["ci"]), "roles": ["CreateBackup", "ShowTask"],
         "namespaces": ["demo", "prod"]},
        {"name": "viewer", "hash": hash_token(TOKENS["viewer"], "sha512"), "roles": ["ShowBackup"],
         "namespaces": ["*"]},
        {"name": "admin", "hash": hash_token(TOKENS["admin"]), "roles": ["*"], "namespaces": ["*"]},
    ]


CI = Principal("ci", frozenset({"CreateBackup", "ShowTask"}), frozenset({"demo", "prod"}))
VIEWER = Principal("viewer", frozenset({"ShowBackup"}), "*")
ADMIN = Principal("admin", frozenset(ROLES), "*")


@pytest.fixture
def store():
    return parse_tokens({"tokens": entries()}, "tokens.yaml")


def test_each_token_authenticates_as_its_principal(store):
    assert [store.authenticate(TOKENS[name]) for name in ("ci", "viewer", "admin")] == [CI, VIEWER, ADMIN]


@pytest.mark.parametrize("token", ["brq_wrong", TOKENS["ci"] + "x", TOKENS["ci"][:-1], "", None, 42,
                                   hash_token(TOKENS["ci"]), hash_token(TOKENS["ci"]).split(":")[1]])
def test_anything_but_a_stored_token_authenticates_as_nobody(store, token):
    assert store.authenticate(token) is None


def test_a_token_may_be_given_as_a_secret(store):
    assert store.authenticate(Secret(TOKENS["ci"])) == CI


@pytest.mark.parametrize("token, expected", [(TOKENS["ci"], CI), (TOKENS["admin"], ADMIN), ("brq_wrong", None)])
def test_every_entry_is_compared_with_compare_digest_whichever_matches(store, monkeypatch, token, expected):
    calls, original = [], auth_tokens.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(auth_tokens, "compare_digest", spy)
    assert store.authenticate(token) == expected
    presented = {name: hashlib.new(name, token.encode()).digest() for name in ("sha256", "sha512")}
    assert calls == [(entry.digest, presented[entry.algorithm]) for entry in store.entries]


def test_principals_can_use_their_roles_in_their_namespaces_only():
    assert [CI.can("CreateBackup", "demo"), CI.can("ShowTask", "prod"), CI.can("CreateBackup", "other"),
            CI.can("Restore", "demo")] == [True, True, False, False]
    assert [VIEWER.can("ShowBackup", "any"), VIEWER.can("ShowTask", "any")] == [True, False]
    assert all(ADMIN.can(role, "anywhere") for role in ROLES)


def test_asking_about_a_role_that_does_not_exist_is_a_programming_error():
    with pytest.raises(ValueError) as info:
        ADMIN.can("Backup", "demo")
    assert str(info.value) == "unknown role 'Backup'"


def test_reprs_show_names_and_roles_but_never_a_token_or_its_hash(store):
    assert repr(CI) == "Principal(name='ci', roles=['CreateBackup', 'ShowTask'], namespaces=['demo', 'prod'])"
    assert repr(VIEWER) == "Principal(name='viewer', roles=['ShowBackup'], namespaces='*')"
    principals = [store.authenticate(token) for token in TOKENS.values()]
    texts = [repr(store), repr(store.entries), str(store.entries), repr(principals)]
    for secret in [*TOKENS.values(), *(entry["hash"].split(":")[1] for entry in entries())]:
        assert not [text for text in texts if secret in text]
    assert repr(store) == "TokenStore('tokens.yaml', names=['ci', 'viewer', 'admin'])"


# --- files ------------------------------------------------------------------------------------------


def test_the_shipped_example_file_holds_hashes_for_three_principals():
    store = load_tokens(os.path.join(DEFAULT_CONF_DIR, "tokens.yaml"))
    assert [entry.principal for entry in store.entries] == [
        ADMIN,
        Principal("demo-operator", frozenset({"CreateCluster", "CreateBackup", "ShowBackup", "Restore", "ShowTask",
                                              "CancelTask"}), frozenset({"demo"})),
        Principal("demo-viewer", frozenset({"ShowBackup", "ShowSchedule", "ShowTask"}), frozenset({"demo"})),
    ]
    assert {entry.algorithm for entry in store.entries} == {"sha256"}


def test_a_yaml_file_and_a_json_file_load_alike(tmp_path):
    (tmp_path / "tokens.yaml").write_text(render_tokens_file(entries(), "# header\n"))
    (tmp_path / "tokens.json").write_text(json.dumps({"tokens": entries()}))
    for path in (tmp_path / "tokens.yaml", tmp_path / "tokens.json"):
        assert [entry.principal for entry in load_tokens(str(path)).entries] == [CI, VIEWER, ADMIN]


def test_a_tokens_file_renders_to_the_whole_expected_text():
    one = entries()[:1]
    assert render_tokens_file(one, "# tokens\n") == (
        "# tokens\n"
        "tokens:\n"
        '  - name: "ci"\n'
        f'    hash: "{one[0]["hash"]}"\n'
        '    roles: ["CreateBackup", "ShowTask"]\n'
        '    namespaces: ["demo", "prod"]\n')
    assert render_tokens_file([]) == "tokens: []\n"


def with_entry(**changes) -> dict:
    entry = {**entries()[0], **changes}
    return {"tokens": [{key: value for key, value in entry.items() if value is not None}]}


BAD_HASH = "tokens[0].hash: must be sha256:<64 hex digits> or sha512:<128 hex digits>"
ALLOWED = "CreateCluster, DeleteCluster, CreateBackup, ShowBackup, Restore, CreateSchedule, ShowSchedule, " \
          "DeleteSchedule, ShowTask, CancelTask, *"


@pytest.mark.parametrize("data, expected", [
    (with_entry(roles=["CreateBackup", "Backup"]),
     f"tokens[0].roles: unknown role 'Backup'; must be one of: {ALLOWED}"),
    (with_entry(roles=["*", "ShowTask"]), "tokens[0].roles: '*' must be the only entry"),
    (with_entry(roles=[]), "tokens[0].roles: must name at least one role (or no namespaces: a probe token)"),
    (with_entry(roles="ShowTask"), "tokens[0].roles: must be a list"),
    (with_entry(roles=None), "tokens[0].roles: is required"),
    (with_entry(namespaces=["demo", "Prod"]), "tokens[0].namespaces: not a namespace name: 'Prod'"),
    (with_entry(namespaces=["*", "demo"]), "tokens[0].namespaces: '*' must be the only entry"),
    (with_entry(namespaces=[]), "tokens[0].namespaces: must name at least one namespace (or give no roles: a probe token)"),
    (with_entry(hash="md5:" + "0" * 32), BAD_HASH),
    (with_entry(hash="sha256:" + "0" * 63), BAD_HASH),
    (with_entry(hash="sha256:" + "A" * 64), BAD_HASH),
    (with_entry(hash=TOKENS["ci"]), BAD_HASH),
    (with_entry(name="has space"), "tokens[0].name: must be 1-63 letters, digits, '.', '_', '@' or '-', starting "
                                   "with a letter or digit"),
    (with_entry(token="brq_plain"), "tokens[0].token: unknown key"),
    ({"tokens": [entries()[0], {**entries()[1], "name": "ci"}]}, "tokens[1].name: 'ci' is already tokens[0]"),
    ({"tokens": [entries()[0], {**entries()[0], "name": "ci2"}]}, "tokens[1].hash: same token as tokens[0]"),
    ({"tokens": ["ci"]}, "tokens[0]: must be a mapping"),
    ({"tokens": None}, "tokens: must be a list"),
    ({}, "tokens: is required"),
    ({"tokens": [], "users": []}, "users: unknown key"),
])
def test_a_bad_tokens_file_names_the_file_the_key_and_the_reason(data, expected):
    with pytest.raises(SettingsError) as info:
        parse_tokens(data, "conf/tokens.yaml")
    assert str(info.value) == f"conf/tokens.yaml: {expected}"


def test_a_tokens_file_that_is_not_yaml_is_refused_naming_it(tmp_path):
    (tmp_path / "tokens.json").write_text("{tokens: [")
    with pytest.raises(SettingsError) as info:
        load_tokens(str(tmp_path / "tokens.json"))
    assert str(info.value) == f"{tmp_path}/tokens.json: not valid JSON: Expecting property name enclosed in double " \
                              "quotes: line 1 column 2 (char 1)"


# --- adding tokens ----------------------------------------------------------------------------------


def test_an_added_token_is_returned_once_and_only_its_hash_is_stored(tmp_path):
    path = tmp_path / "tokens.yaml"
    path.write_text("# keep me\n\n" + render_tokens_file(entries()[:1]))
    token = add_token(str(path), "new", ["ShowTask"], ["demo"])
    text = path.read_text()
    assert token.reveal().startswith("brq_") and len(token.reveal()) == 47
    assert token.reveal() not in text and hash_token(token.reveal()) in text
    assert text == "# keep me\n\n" + render_tokens_file(entries()[:1] + [
        {"name": "new", "hash": hash_token(token.reveal()), "roles": ["ShowTask"], "namespaces": ["demo"]}])
    assert load_tokens(str(path)).authenticate(token) == Principal("new", frozenset({"ShowTask"}), frozenset({"demo"}))


def test_a_new_tokens_file_is_private_and_a_json_file_stays_json(tmp_path):
    path = tmp_path / "tokens.json"
    token = add_token(str(path), "a", ["*"], ["*"])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(path.read_text()) == {"tokens": [{"name": "a", "hash": hash_token(token.reveal()),
                                                        "roles": ["*"], "namespaces": ["*"]}]}


@pytest.mark.parametrize("name, roles, namespaces, expected", [
    ("x", ["Backup"], ["demo"], f"new token: roles: unknown role 'Backup'; must be one of: {ALLOWED}"),
    ("x", ["ShowTask"], [], "new token: namespaces: must name at least one namespace (or give no roles: a probe token)"),
    ("ci", ["ShowTask"], ["demo"], "{path}: tokens[1].name: 'ci' is already tokens[0]"),
])
def test_adding_a_bad_token_changes_nothing(tmp_path, name, roles, namespaces, expected):
    path = tmp_path / "tokens.yaml"
    before = render_tokens_file(entries()[:1])
    path.write_text(before)
    with pytest.raises(SettingsError) as info:
        add_token(str(path), name, roles, namespaces)
    assert str(info.value) == expected.format(path=path)
    assert path.read_text() == before and os.listdir(tmp_path) == ["tokens.yaml"]


def test_the_add_command_prints_the_token_alone_on_stdout(tmp_path, capsys):
    path = tmp_path / "tokens.yaml"
    assert main(["add", "--name", "ci", "--roles", "CreateBackup, ShowTask", "--namespaces", "demo",
                 "--file", str(path)], environ={}) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert out == token + "\n" and token not in err
    assert err == f"added token 'ci' to {path}; it is shown only this once:\n"
    assert load_tokens(str(path)).authenticate(token) == Principal(
        "ci", frozenset({"CreateBackup", "ShowTask"}), frozenset({"demo"}))


def test_the_add_command_uses_the_settings_tokens_file_and_reports_errors(tmp_path, capsys):
    environ = {"BRQ_CONF_DIR": DEFAULT_CONF_DIR, "BRQ_TOKENS_FILE": str(tmp_path / "t.yaml")}
    assert main(["add", "--name", "a", "--roles", "*", "--namespaces", "*"], environ=environ) == 0
    assert len(load_tokens(str(tmp_path / "t.yaml"))) == 1
    capsys.readouterr()
    assert main(["add", "--name", "b", "--roles", "Admin", "--namespaces", "*"], environ=environ) == 2
    assert capsys.readouterr() == ("", f"new token: roles: unknown role 'Admin'; must be one of: {ALLOWED}\n")


def test_token_entries_keep_only_digests():
    entry = parse_tokens({"tokens": entries()[:1]}, "t").entries[0]
    assert entry == TokenEntry(CI, "sha256", hashlib.sha256(TOKENS["ci"].encode()).digest())
