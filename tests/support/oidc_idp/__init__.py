"""An OpenID Connect identity provider for the tests: allauth's own (`allauth.idp.oidc`),
run as a second Django process with its own SQLite database (tests/support/sso.py starts it).
"""

# What a test may ask the provider to get wrong in its next ID tokens (adapter.py). Here,
# not in adapter.py: importing allauth.idp's models into the test process would give its
# database tables that the publication does not have.
WRONG_AUDIENCE = "wrong-audience"
EXPIRED = "expired"
FOREIGN_KEY = "foreign-key"
