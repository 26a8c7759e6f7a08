import pytest

from vvtv.errors import InputError
from vvtv.netsafety import check_public_url, host_allowed


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("file:///etc/passwd", "scheme 'file'"),
        ("javascript:alert(1)", "scheme 'javascript'"),
        ("ftp://example.org/x", "scheme 'ftp'"),
        ("http://127.0.0.1:8080/", "loopback"),
        ("http://10.1.2.3/video", "private"),
        ("http://192.168.0.10/", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("http://0.0.0.0/", "unspecified"),
        ("http:///nohost", "no host"),
        ("http://localhost:99999/", "not a valid URL"),
        ("http://no-such-host.invalid/", "cannot resolve"),
    ],
)
def test_refuses_unsafe_urls(url: str, words: str) -> None:
    with pytest.raises(InputError, match=words.replace("[", r"\[")):
        check_public_url(url)


def test_public_address_passes_without_connecting() -> None:
    check_public_url("https://93.184.215.14/watch?v=1")


def test_allow_list_by_host_or_host_and_port() -> None:
    check_public_url("http://127.0.0.1:8091/search", ["127.0.0.1"])
    check_public_url("http://127.0.0.1:8091/search", ["127.0.0.1:8091"])
    with pytest.raises(InputError, match="loopback"):
        check_public_url("http://127.0.0.1:8092/", ["127.0.0.1:8091"])
    assert host_allowed("LOCALHOST", 80, ["localhost"])
    assert not host_allowed("evil.localhost.example", 80, ["localhost"])
