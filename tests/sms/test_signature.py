from app.sms.signature import public_request_url, sign, signature_valid

# Twilio's published example ("Validating requests are coming from Twilio").
VECTOR_TOKEN = "12345"
VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234",
                 "From": "+12349013030", "To": "+18005551212"}
VECTOR_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_twilio_published_vector_is_accepted():
    assert signature_valid(VECTOR_TOKEN, VECTOR_URL, VECTOR_PARAMS, VECTOR_SIGNATURE)


def test_vector_with_any_change_is_refused():
    assert not signature_valid("54321", VECTOR_URL, VECTOR_PARAMS, VECTOR_SIGNATURE)
    assert not signature_valid(VECTOR_TOKEN, VECTOR_URL.replace("https", "http"), VECTOR_PARAMS,
                               VECTOR_SIGNATURE)
    assert not signature_valid(VECTOR_TOKEN, VECTOR_URL, {**VECTOR_PARAMS, "Digits": "1235"},
                               VECTOR_SIGNATURE)
    assert not signature_valid(VECTOR_TOKEN, VECTOR_URL, VECTOR_PARAMS, None)
    assert not signature_valid(VECTOR_TOKEN, VECTOR_URL, VECTOR_PARAMS, "")


def test_public_url_rebuilt_with_path_and_query():
    url = public_request_url("https://tl.example.org/", "/webhooks/twilio/sms", "a=1&b=2")
    assert url == "https://tl.example.org/webhooks/twilio/sms?a=1&b=2"
    assert public_request_url("https://tl.example.org", "/x", "") == "https://tl.example.org/x"


def test_sign_matches_vector():
    assert sign(VECTOR_TOKEN, VECTOR_URL, VECTOR_PARAMS) == VECTOR_SIGNATURE


def test_our_hmac_and_the_twilio_librarys_agree_on_every_shape():
    from twilio.request_validator import RequestValidator

    from app.sms.signature import _sha1_signature

    cases = [(VECTOR_URL, VECTOR_PARAMS), ("https://tl.example.org/webhooks/twilio/sms", {}),
             ("https://tl.example.org/w?x=1", {"Body": "café & <b> £5 😀", "From": "+447700900123",
                                                "a": "", "Z": "upper before lower"})]
    for url, params in cases:
        assert _sha1_signature("tok", url, params) == \
            RequestValidator("tok").compute_signature(url, params)


def test_a_signature_over_the_url_with_its_default_port_is_accepted():
    # Twilio has signed https://host:443/... for some webhooks; the library's fallback takes it.
    with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    signature = sign(VECTOR_TOKEN, with_port, VECTOR_PARAMS)
    assert signature_valid(VECTOR_TOKEN, VECTOR_URL, VECTOR_PARAMS, signature)
    assert not signature_valid(VECTOR_TOKEN, VECTOR_URL, VECTOR_PARAMS, signature[:-2] + "x=")
