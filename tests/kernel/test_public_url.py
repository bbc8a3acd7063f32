"""public_url: an http or https address (the web's Secure cookie and calendar links follow it), checked like
every setting."""

from __future__ import annotations

import pytest

from apscn_tracker.config import ConfigError, load_settings


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://apscn.coop.k12.ar.us/", "https://apscn.coop.k12.ar.us"),
        ("http://10.0.0.5:8000", "http://10.0.0.5:8000"),
    ],
)
def test_an_http_or_https_address_is_kept_without_its_trailing_slash(tmp_path, given, kept):
    assert load_settings(env={"APSCN_HOME": str(tmp_path), "APSCN_PUBLIC_URL": given}).public_url == kept


@pytest.mark.parametrize("given", ["ftp://apscn.example", "https://", "apscn.example", "https://a\nb"])
def test_anything_else_is_refused_naming_the_setting(tmp_path, given):
    with pytest.raises(ConfigError, match="public_url .* from APSCN_PUBLIC_URL: expected an http or https address"):
        load_settings(env={"APSCN_HOME": str(tmp_path), "APSCN_PUBLIC_URL": given})
