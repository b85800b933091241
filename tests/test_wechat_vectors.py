"""Signature vectors and safe-mode encryption, checked against the written spec.

The encryption side is checked with an AES implementation written here from
wechat.md, not with wechatpy, so that a shared mistake cannot hide. The WeCom
vector of wechat-vectors.json belongs to the WeCom channel and is not here.
"""

import base64
import hashlib
import struct
import time

import pytest
import xmltodict
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy.utils import check_signature

from bot import wechat, wechat_sim
from tests.support import AES_KEY, APP_ID, PREVIOUS_AES_KEY, TOKEN, USER, make_config

# official_account_signature of /work/shared/wechat-vectors.json.
SIGNATURE_VECTORS = [
    ("test", "1410685589", "test", "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff"),
    ("AAAAA", "1714037059", "486452656", "899cf89e464efb63f54ddac96b0a0a235f53aa78"),
]

OTHER_AES_KEY = "zyxwvutsrqponmlkjihgfedcba9876543210ZYXWVUT"


@pytest.mark.parametrize("token, timestamp, nonce, signature", SIGNATURE_VECTORS)
def test_signature_vector_matches_wechatpy_and_sha1(token, timestamp, nonce, signature):
    check_signature(token, signature, timestamp, nonce)
    joined = "".join(sorted([token, timestamp, nonce])).encode()
    assert hashlib.sha1(joined).hexdigest() == signature


@pytest.mark.parametrize("token, timestamp, nonce, signature", SIGNATURE_VECTORS)
def test_signature_vector_passes_url_verification(
    tmp_path, token, timestamp, nonce, signature
):
    config = make_config(tmp_path, token=token)
    params = {"signature": signature, "timestamp": timestamp, "nonce": nonce}

    assert wechat.verify_url(config, {**params, "echostr": "123abc"}) == "123abc"
    with pytest.raises(wechat.Rejected) as refused:
        wechat.verify_url(config, {**params, "nonce": nonce + "1", "echostr": "x"})
    assert refused.value.status == 403


@pytest.mark.parametrize("token, timestamp, nonce, signature", SIGNATURE_VECTORS)
def test_simulator_signs_like_the_vectors(tmp_path, token, timestamp, nonce, signature):
    config = make_config(tmp_path, token=token)
    params = wechat_sim.sign_query(config, USER, timestamp=timestamp, nonce=nonce)
    assert params["signature"] == signature


def aes_key(encoding_aes_key):
    return base64.b64decode(encoding_aes_key + "=")


def seal(encoding_aes_key, xml, app_id=APP_ID, prefix=b"0123456789abcdef"):
    """Encrypt as wechat.md describes: prefix, length, message, app id, pad to 32."""
    message = xml.encode()
    plain = prefix + struct.pack(">I", len(message)) + message + app_id.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    key = aes_key(encoding_aes_key)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def unseal(encoding_aes_key, encrypt):
    """Decrypt; the message, the app id and the padding bytes."""
    key = aes_key(encoding_aes_key)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(encrypt)) + decryptor.finalize()
    pad = plain[-1]
    assert 1 <= pad <= 32
    body, padding = plain[:-pad], plain[-pad:]
    (length,) = struct.unpack(">I", body[16:20])
    return body[20 : 20 + length].decode(), body[20 + length :].decode(), padding


def sha1_sorted(*parts):
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def safe_request(config, encrypt, timestamp):
    nonce = "1320562132"
    params = wechat_sim.sign_query(
        config, USER, timestamp=timestamp, nonce=nonce, encrypt=encrypt
    )
    body = wechat_sim.render_xml({"ToUserName": "gh_x", "Encrypt": encrypt})
    return params, body.encode()


def text_xml(content):
    fields = wechat_sim.message_fields(USER, text=content, msg_id=1234567890123456)
    return wechat_sim.render_xml(fields)


def full_pad_xml():
    """A message whose plaintext is a whole number of 32-byte blocks."""
    for extra in range(32):
        xml = text_xml("学时" + "x" * extra)
        if (16 + 4 + len(xml.encode()) + len(APP_ID)) % 32 == 0:
            return xml
    raise AssertionError("no length fills the last block")


@pytest.mark.parametrize("xml", [text_xml("参加县级培训3天"), full_pad_xml()])
def test_request_sealed_by_the_spec_is_decoded(tmp_path, xml):
    config = make_config(tmp_path, mode="safe")
    timestamp = str(int(time.time()))
    params, body = safe_request(config, seal(AES_KEY, xml), timestamp)

    delivery = wechat.decode_post(config, params, body)

    assert delivery.inbound.text == xmltodict.parse(xml)["xml"]["Content"]
    assert delivery.aes_key == AES_KEY


def test_full_pad_request_really_fills_blocks():
    xml = full_pad_xml()
    _, _, padding = unseal(AES_KEY, seal(AES_KEY, xml))
    assert padding == bytes([32]) * 32


def test_encrypted_replies_follow_the_spec_for_every_padding_length(tmp_path):
    config = make_config(tmp_path, mode="safe")
    params, body = wechat_sim.build_request(config, USER, text="查询", mode="safe")
    delivery = wechat.decode_post(config, params, body)

    pads = set()
    for extra in range(32):
        content = "已登记" + "x" * extra
        reply = xmltodict.parse(wechat.encode_reply(config, delivery, content))["xml"]
        parts = (TOKEN, reply["TimeStamp"], reply["Nonce"], reply["Encrypt"])
        assert reply["MsgSignature"] == sha1_sorted(*parts)

        xml, app_id, padding = unseal(AES_KEY, reply["Encrypt"])
        assert app_id == APP_ID
        assert set(padding) == {len(padding)}
        assert xmltodict.parse(xml)["xml"]["Content"] == content
        pads.add(len(padding))
    assert pads == set(range(1, 33))


@pytest.mark.parametrize("sender_key", [AES_KEY, PREVIOUS_AES_KEY])
def test_previous_key_still_opens_requests_and_seals_the_reply(tmp_path, sender_key):
    config = make_config(
        tmp_path, mode="safe", previous_encoding_aes_key=PREVIOUS_AES_KEY
    )
    timestamp = str(int(time.time()))
    params, body = safe_request(config, seal(sender_key, text_xml("听课")), timestamp)

    delivery = wechat.decode_post(config, params, body)
    reply = xmltodict.parse(wechat.encode_reply(config, delivery, "好的"))["xml"]

    assert delivery.aes_key == sender_key
    xml, _, _ = unseal(sender_key, reply["Encrypt"])
    assert xmltodict.parse(xml)["xml"]["Content"] == "好的"


@pytest.mark.parametrize(
    "previous, sender_key",
    [("", PREVIOUS_AES_KEY), (PREVIOUS_AES_KEY, OTHER_AES_KEY)],
)
def test_unknown_key_is_refused(tmp_path, previous, sender_key):
    config = make_config(tmp_path, mode="safe", previous_encoding_aes_key=previous)
    timestamp = str(int(time.time()))
    params, body = safe_request(config, seal(sender_key, text_xml("听课")), timestamp)

    with pytest.raises(wechat.Rejected) as refused:
        wechat.decode_post(config, params, body)
    assert refused.value.status == 400


def test_request_for_another_app_id_is_refused(tmp_path):
    config = make_config(tmp_path, mode="safe")
    timestamp = str(int(time.time()))
    encrypt = seal(AES_KEY, text_xml("听课"), app_id="wx0000000000000000")
    params, body = safe_request(config, encrypt, timestamp)

    with pytest.raises(wechat.Rejected):
        wechat.decode_post(config, params, body)


@pytest.mark.parametrize("mode", ["safe", "compatible"])
def test_round_trip_through_simulator(tmp_path, mode):
    config = make_config(tmp_path, mode=mode)
    text = "参加市级培训]]>2天"
    params, body = wechat_sim.build_request(config, USER, text=text)

    delivery = wechat.decode_post(config, params, body)
    reply = wechat.encode_reply(config, delivery, "回复]]>" + text)

    assert delivery.inbound.text == text
    assert wechat_sim.parse_reply(config, params, reply) == "回复]]>" + text
