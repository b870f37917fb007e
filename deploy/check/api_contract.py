"""The API contract against a running gateway: /openapi.json is a valid OpenAPI document, and
schemathesis finds no failure with all of its checks, once anonymously and once with a staff
token. Run by api-contract.sh, which starts the platform; exits non-zero on any failure.

    python api_contract.py BASE_URL WORK_DIR [MAX_EXAMPLES]
"""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

from openapi_spec_validator import validate

STORE = "contract"
OWNER = ("owner@contract.test", "owner password one")
STAFF = ("staff@contract.test", "staff password one")

# What schemathesis is told beyond the document. Each entry narrows one check for one operation,
# with the reason it cannot apply as written.
CONFIG = """
# Every operation is exercised in one store the run provisions, so that requests reach the
# handlers instead of stopping at "no such store".
[parameters]
"path.store" = "@STORE@"

# RFC 6749 section 5.2 answers a well-formed password or refresh grant whose credentials match
# no account with 400 `invalid_grant` (and a client that fails authentication with 401). Random
# credentials are schema-valid but match nobody, so 400 is the right answer to valid data here.
[[operations]]
include-path = "/v1/oauth/token"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401"]

# A product's variants must have distinct SKUs and one currency, and `category` must name a
# category of the store: rules across fields and on the store's data that JSON Schema cannot
# state, so a schema-valid body can still be refused with 422 (naming the field).
[[operations]]
include-path-regex = '^/v1/stores/[^/]+/products(/[^/]+)?$'
include-method-regex = "^(POST|PATCH)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422"]

# Pricing rules name zones of the store, countries, and kinds and targets from closed lists; a
# code must exist and apply to the cart; a method must be one the cart's address is offered; a
# cart's address follows its country's rules: checks on the store's data or across fields that
# JSON Schema cannot state, so a schema-valid body can still be refused with 409 or 422.
[[operations]]
include-path-regex = '^/v1/stores/[^/]+/(shipping-zones|shipping-methods|tax-rates|tax-settings|promotions|carts/[^/]+/(addresses|shipping-method|promotion-code))'
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]

# A synonym is one word of letters, digits or dashes, distinct within its group in any case
# (after trimming and lower-casing), and orders are listed from `created_from` to a later
# `created_to`: rules on the strings' letters and across values that JSON Schema cannot state,
# so a schema-valid request can still be refused with 422 (naming the field).
[[operations]]
include-path-regex = '^/v1/stores/[^/]+/(search/synonyms|orders)$'
include-method-regex = "^(PUT|GET)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "422"]

# A card number must pass the Luhn check, which JSON Schema cannot state (its shape is in the
# schema), so a schema-valid card can still be refused with 422.
[[operations]]
include-path = "/v1/stores/{store}/checkout"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422"]
"""


def call(base, method, path, body=None, token=None, form=None):
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["content-type"] = "application/x-www-form-urlencoded"
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def expect(what, reply, *statuses):
    status, body = reply
    if status not in statuses:
        sys.exit(f"FAIL setup: {what}: {status} {body}")
    return body


def sign_in(base, email, password):
    form = {"grant_type": "password", "store": STORE, "username": email, "password": password}
    return expect(f"sign in as {email}", call(base, "POST", "/v1/oauth/token", form=form), 200)["access_token"]


def staff_token(base):
    """Provisions the store the run uses, with a product and stock, and returns a staff token."""
    expect(
        "provision the store",
        call(base, "POST", "/v1/stores", {
            "slug": STORE, "name": "Contract", "currency": "EUR",
            "owner": {"email": OWNER[0], "password": OWNER[1]},
        }),
        201,
    )
    owner = sign_in(base, *OWNER)
    expect(
        "create a staff account",
        call(base, "POST", f"/v1/stores/{STORE}/staff", {"email": STAFF[0], "password": STAFF[1]}, owner),
        201,
    )
    staff = sign_in(base, *STAFF)
    product = {"slug": "mug", "title": "Mug",
               "variants": [{"sku": "MUG-1", "price": {"amount_minor": 900, "currency": "EUR"}}]}
    expect("create a product", call(base, "POST", f"/v1/stores/{STORE}/products", product, staff), 201)
    expect("stock it", call(base, "PUT", f"/v1/stores/{STORE}/inventory/MUG-1", {"on_hand": 50}, staff), 200)
    return staff


def main():
    base, work = sys.argv[1].rstrip("/"), sys.argv[2]
    max_examples = sys.argv[3] if len(sys.argv) > 3 else "25"
    status, document = call(base, "GET", "/openapi.json")
    if status != 200:
        sys.exit(f"FAIL /openapi.json answered {status}")
    validate(document)
    print(f"ok   /openapi.json is a valid OpenAPI {document['openapi']} document "
          f"({len(document['paths'])} paths)")

    token = staff_token(base)
    with open(os.path.join(work, "schemathesis.toml"), "w") as f:
        f.write(CONFIG.replace("@STORE@", STORE))
    st = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    failed = []
    for who, headers in (("anonymous", []), ("staff", ["-H", f"Authorization: Bearer {token}"])):
        print(f"== schemathesis, {who}, at most {max_examples} examples per operation", flush=True)
        # One worker: CPython 3.11 can fail with "AST constructor recursion depth mismatch" when
        # two threads compile at once (gh-106905), which hypothesis does under schemathesis's
        # threaded workers; that is a crash of the tool, not a finding about the API.
        run = subprocess.run(
            [st, "run", f"{base}/openapi.json", "--checks", "all", "--max-examples", max_examples,
             "--phases", "examples,coverage,fuzzing,stateful", "--seed", "20261206", "--no-color",
             "--workers", "1", "--report", "junit", "--report-dir", os.path.join(work, who), *headers],
            cwd=work,
        )
        if run.returncode != 0:
            failed.append(who)
    if failed:
        sys.exit(f"FAIL schemathesis found failures ({', '.join(failed)}); reports in {work}")
    print("ok   schemathesis: no failures, anonymous and with a staff token")


if __name__ == "__main__":
    main()
