"""Drives Microsoft's azure-communication-identity SDK against the ACS Identity emulator.

Run by crates/devstack/tests/python_sdk.rs, which starts the emulator and a stand-in Entra issuer
and passes everything through the environment:

  ACS_ENDPOINT         http://127.0.0.1:PORT (no trailing slash: the SDK would sign the slash)
  ACS_ACCESS_KEY       the access key, base64
  A1_TOKEN             an Entra token of a Teams user for ACS
  A1_APP_ID, A1_USER_ID  the token's appid and oid
  A1_EXPIRES_ON        the expiresOn the exchange must return

Exits 0 when every expectation holds; otherwise prints what failed and exits 1.
"""

import os
import sys
import traceback
import uuid
from datetime import timedelta

from azure.communication.identity import (
    CommunicationIdentityClient,
    CommunicationTokenScope,
)
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)

ENV = {name: os.environ[name] for name in (
    "ACS_ENDPOINT", "ACS_ACCESS_KEY", "A1_TOKEN", "A1_APP_ID", "A1_USER_ID", "A1_EXPIRES_ON")}


class ExpectationFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise ExpectationFailed(message)


def client(key=None):
    # Reference section 7: the constructor (from_connection_string would switch to https), an
    # endpoint without a trailing slash, and no retries so that failures surface at once.
    return CommunicationIdentityClient(
        ENV["ACS_ENDPOINT"], AzureKeyCredential(key or ENV["ACS_ACCESS_KEY"]), retry_total=0)


def exchange_gives_a_token_expiring_with_the_entra_token():
    token = client().get_token_for_teams_user(ENV["A1_TOKEN"], ENV["A1_APP_ID"], ENV["A1_USER_ID"])
    expect(token.token.count(".") == 2, f"not a JWT: {token.token[:20]}...")
    expect(token.expires_on == ENV["A1_EXPIRES_ON"],
           f"expires_on {token.expires_on!r}, wanted {ENV['A1_EXPIRES_ON']!r}")


def identity_lifecycle_works():
    identity = client()
    user = identity.create_user()
    expect(user.properties["id"].startswith("8:acs:"), f"unexpected id {user.properties['id']}")

    other, token = identity.create_user_and_token(
        scopes=[CommunicationTokenScope.CHAT], token_expires_in=timedelta(hours=1))
    expect(other.properties["id"] != user.properties["id"], "two identities with one id")
    expect(token.token.count(".") == 2, "create_user_and_token gave no JWT")

    issued = identity.get_token(
        user, scopes=[CommunicationTokenScope.CHAT, CommunicationTokenScope.VOIP])
    expect(issued.token.count(".") == 2, "get_token gave no JWT")

    expect(identity.revoke_tokens(user) is None, "revoke_tokens returned something")
    expect(identity.delete_user(user) is None, "delete_user returned something")
    try:
        identity.get_token(user, scopes=[CommunicationTokenScope.CHAT])
    except ResourceNotFoundError as error:
        expect(error.status_code == 404, f"status {error.status_code}")
        expect(error.error.code == "IdentityNotFound", f"code {error.error.code}")
    else:
        raise ExpectationFailed("get_token for a deleted identity succeeded")


def a_wrong_key_is_a_client_authentication_error():
    wrong_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    try:
        client(wrong_key).create_user()
    except ClientAuthenticationError as error:
        expect(error.status_code == 401, f"status {error.status_code}")
        expect(error.error.code == "InvalidAuthentication", f"code {error.error.code}")
    else:
        raise ExpectationFailed("a request signed with the wrong key succeeded")


def a_mismatched_user_is_a_400():
    try:
        client().get_token_for_teams_user(ENV["A1_TOKEN"], ENV["A1_APP_ID"], str(uuid.uuid4()))
    except ClientAuthenticationError as error:
        raise ExpectationFailed(f"a 400 was expected, got 401 {error.error.code}") from error
    except HttpResponseError as error:
        expect(error.status_code == 400, f"status {error.status_code}")
        expect(error.error.code == "ValidationError", f"code {error.error.code}")
        expect(error.error.target == "userId", f"target {error.error.target}")
    else:
        raise ExpectationFailed("an exchange for another user succeeded")


def an_invalid_entra_token_is_a_client_authentication_error():
    try:
        client().get_token_for_teams_user("not-a-token", ENV["A1_APP_ID"], ENV["A1_USER_ID"])
    except ClientAuthenticationError as error:
        expect(error.error.code == "InvalidAccessToken", f"code {error.error.code}")
    else:
        raise ExpectationFailed("an exchange of a garbage token succeeded")


CHECKS = [
    exchange_gives_a_token_expiring_with_the_entra_token,
    identity_lifecycle_works,
    a_wrong_key_is_a_client_authentication_error,
    a_mismatched_user_is_a_400,
    an_invalid_entra_token_is_a_client_authentication_error,
]


def main():
    failures = 0
    for check in CHECKS:
        try:
            check()
            print(f"ok   {check.__name__}")
        except ExpectationFailed as failure:
            failures += 1
            print(f"FAIL {check.__name__}: {failure}")
        except Exception:  # an SDK error nobody expected: show all of it
            failures += 1
            print(f"FAIL {check.__name__}: unexpected exception")
            traceback.print_exc(file=sys.stdout)
    print(f"python SDK checks: {len(CHECKS) - failures} of {len(CHECKS)} as expected")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
