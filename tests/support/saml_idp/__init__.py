"""A SAML 2.0 identity provider for the single sign-on tests, built on pysaml2's IdP
(`saml2.server.Server`) and served by the standard library in a second process
(tests/support/saml.py starts it). What a test asks it to get wrong, one word in its mode file:
"""

# The assertion's audience is another service.
WRONG_AUDIENCE = "wrong-audience"
# The assertion was issued an hour ago and is no longer valid.
EXPIRED = "expired"
# Neither the response nor the assertion is signed.
UNSIGNED = "unsigned"
# The response is signed, the assertion inside it is not.
ONLY_RESPONSE_SIGNED = "only-response-signed"
# Signed, with a key whose certificate the service was never given.
FOREIGN_KEY = "foreign-key"
# Signed with RSA-SHA1, which is no longer safe.
SHA1_SIGNATURE = "sha1-signature"
# A response to no request of the service's (identity-provider-initiated sign-in).
UNSOLICITED = "unsolicited"
