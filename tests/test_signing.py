"""The call signature against the official test vector (spec §2.3 [DOC] KD-vector)."""

from labmcp.labarchives.signing import encode_once, signature

VECTOR = {
    "akid": "0234wedkfjrtfd34er",
    "method": "entry_attachment",
    "expires": "264433207000",
    "password": "1234567890",
}


def test_official_vector_sha512() -> None:
    sig = signature(VECTOR["akid"], VECTOR["method"], VECTOR["expires"], VECTOR["password"])
    assert sig == "mT7pS+KgqlNseR0bo4YLQOVIsgOugMWzlQGllInXS25Q7VpA6lRmL0nUq/UUdrlF+WV7POYE1vcwvN/pnac7bw=="


def test_official_vector_url_encoded_once() -> None:
    sig = signature(VECTOR["akid"], VECTOR["method"], int(VECTOR["expires"]), VECTOR["password"])
    assert encode_once(sig) == (
        "mT7pS%2BKgqlNseR0bo4YLQOVIsgOugMWzlQGllInXS25Q7VpA6lRmL0nUq%2FUUdrlF%2BWV7POYE1vcwvN%2Fpnac7bw%3D%3D"
    )


def test_legacy_sha1_of_the_same_input() -> None:
    """§2.3: computed, not documented; used only by the fake's accept_sha1 flag."""
    sig = signature(VECTOR["akid"], VECTOR["method"], VECTOR["expires"], VECTOR["password"], hash_name="sha1")
    assert sig == "N7sE3qv+Fgha1HEiA8+y8s/eLW8="


def test_method_name_only_differs_from_class_qualified() -> None:
    """§2.2 [DOC]: the class name is not part of the signed string."""
    args = (VECTOR["akid"], VECTOR["expires"], VECTOR["password"])
    assert signature(args[0], "entry_attachment", args[1], args[2]) != signature(
        args[0], "entries/entry_attachment", args[1], args[2]
    )
