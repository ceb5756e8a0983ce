"""The names logpager exports are deliberate; this pins them."""

import logpager


def test_exported_names():
    expected = {"QueryResult", "SessionManager", "SessionState", "Settings", "load_settings"}
    assert expected <= set(logpager.__all__)
    for name in logpager.__all__:
        assert hasattr(logpager, name), name
