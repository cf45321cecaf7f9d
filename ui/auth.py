"""Who is using the app: OIDC sign-in when configured, else a clearly labelled local mode.

- With an `[auth]` section in `.streamlit/secrets.toml` the app signs people in with
  `st.login` (OpenID Connect) and the user is `st.user.email`; nobody gets in without it.
- Without `[auth]`, LOCAL MODE: the person picks who they are from roles.toml in the sidebar
  (kept in the `?as=<email>` query parameter, so a link or a browser test can open the app as
  someone).
  Anyone can pick anyone, which is fine on a laptop and wrong on a shared server, so a shared
  deployment turns it off with `HANDOFF_LOCAL_MODE=0` (or `local_mode = false` under
  `[handoff]` in secrets.toml); then, without `[auth]`, the app refuses to start a session.

The catalog, not this module, decides what a user may do: `current_user()` is only who they are.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import streamlit as st

from metrics.errors import MetricError
from metrics.roles import Person, Roles, load_roles, normalize_email
from ui import data
from ui.definition_view import url_selectbox
from ui.format import escape_markdown

LOCAL_MODE_ENV = "HANDOFF_LOCAL_MODE"
USER_PARAM = "as"
_USER_KEY = "_handoff_user"
_FALSE = {"0", "false", "no", "off"}


def _secrets_section(name: str) -> Mapping:
    try:
        section = st.secrets.get(name)
    except FileNotFoundError:  # no secrets.toml at all (StreamlitSecretNotFoundError)
        return {}
    return section if isinstance(section, Mapping) else {}


def oidc_providers() -> list[str | None]:
    """The providers `[auth]` configures: [None] for a single unnamed one, else their names."""
    auth = _secrets_section("auth")
    if not auth:
        return []
    if "client_id" in auth or "server_metadata_url" in auth:
        return [None]
    return [key for key, value in auth.items() if isinstance(value, Mapping)] or [None]


def local_mode_enabled() -> bool:
    """Local mode is on unless HANDOFF_LOCAL_MODE=0 or secrets' [handoff] local_mode = false."""
    env = os.environ.get(LOCAL_MODE_ENV)
    if env is not None and env.strip():
        return env.strip().lower() not in _FALSE
    value = _secrets_section("handoff").get("local_mode", True)
    if isinstance(value, str):
        return value.strip().lower() not in _FALSE
    return bool(value)


def roles() -> Roles:
    """The roles the catalog enforces (those of roles.toml / METRICS_ROLES)."""
    try:
        return data.get_catalog().roles
    except MetricError:
        try:
            return load_roles()
        except MetricError:
            return Roles()


def current_user() -> str | None:
    """The signed-in user's email (lowercase), or None when nobody is signed in."""
    return st.session_state.get(_USER_KEY) or None


def current_person() -> Person:
    """The signed-in user with their role and teams (a team-less viewer when unknown)."""
    return roles().person(current_user())


def describe(person: Person) -> str:
    """'Chief Marketing Officer <cmo@example.com> · approver · marketing'."""
    return f"{person.display} · {role_and_teams(person)}"


def short_description(person: Person) -> str:
    """'Chief Marketing Officer · approver · marketing' (the email goes on its own line)."""
    return f"{person.name or person.email} · {role_and_teams(person)}"


def role_and_teams(person: Person) -> str:
    return f"{person.role} · {', '.join(person.teams) or 'no team'}"


def sign_in() -> str | None:
    """The router's gate: identify the user or stop the script with the reason why not."""
    providers = oidc_providers()
    if providers:
        user = _oidc_user(providers)
    elif local_mode_enabled():
        user = _local_user()
    else:
        st.title("Handoff")
        st.error(
            "Sign-in is not configured, and local mode is switched off for this deployment "
            f"({LOCAL_MODE_ENV}=0 or [handoff] local_mode = false), so Handoff cannot tell who "
            "you are. An admin must add an [auth] section (OpenID Connect) to "
            ".streamlit/secrets.toml, or allow local mode on a single-user machine.",
            icon=":material/lock:")
        st.stop()
    st.session_state[_USER_KEY] = user
    return user


def _oidc_user(providers: list[str | None]) -> str:
    if not st.user.get("is_logged_in"):
        st.title("Handoff · pipeline review")
        st.write("Sign in with your company account. What you may change in the metric "
                 "definitions follows your role in roles.toml; everyone else may look.")
        for provider in providers:
            st.button(f"Sign in with {provider}" if provider else "Sign in", type="primary",
                      icon=":material/login:", on_click=st.login,
                      args=(provider,) if provider else (), key=f"login-{provider or 'default'}")
        st.stop()
    email = normalize_email(st.user.get("email"))
    refusal = None
    if not email:
        refusal = ("Your identity provider did not send an email address, and Handoff names "
                   "people by email. Ask the admin to request the 'email' scope, or sign in "
                   "with another account.")
    elif st.user.get("email_verified") is False:
        # Anyone can type any address into an account; only a verified one says who they are.
        refusal = (f"Your identity provider says {email} is not verified, so Handoff cannot "
                   "tell it is yours. Verify the address with your identity provider (or ask "
                   "its admin to), then sign in again.")
    if refusal:
        st.title("Handoff")
        st.error(escape_markdown(refusal), icon=":material/mail:")
        st.button("Sign out", on_click=st.logout, icon=":material/logout:")
        st.stop()
    with st.sidebar:
        st.markdown(f":material/account_circle: {escape_markdown(describe(roles().person(email)))}")
        st.button("Sign out", on_click=st.logout, icon=":material/logout:", key="logout",
                  type="tertiary")
    return email


def _local_user() -> str | None:
    known = roles()
    order = {"admin": 0, "approver": 1, "editor": 2, "viewer": 3}
    people = sorted(known.people.values(), key=lambda p: (order.get(p.role, 9), p.teams, p.email))
    with st.sidebar:
        email = url_selectbox(
            "Acting as (local mode)", [p.email for p in people], param=USER_PARAM,
            key="acting-as", index=None,
            format_func=lambda e: short_description(known.person(e)),
            placeholder="Pick who you are",
            help="LOCAL MODE: there is no sign-in, so pick a person from roles.toml. Set up "
                 "[auth] in .streamlit/secrets.toml and HANDOFF_LOCAL_MODE=0 for a shared "
                 "deployment.")
        if email:
            st.caption(f"`{email.replace('`', '')}`")
        st.caption(":orange-badge[:material/science: LOCAL MODE] no sign-in: anyone may act "
                   "as anyone listed in roles.toml.")
    return normalize_email(email) or None
