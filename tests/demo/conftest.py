from demosite import demo_site  # noqa: F401 - the shared session fixture
