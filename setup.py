"""Package discovery: app, recon and cad, plus resources/ installed as ``crescent_resources``."""

from setuptools import find_packages, setup

packages = find_packages(include=["app", "app.*", "recon", "recon.*", "cad", "cad.*"])
setup(
    packages=packages + ["crescent_resources"],
    package_dir={"crescent_resources": "resources"},
    package_data={"crescent_resources": ["**/*"], "app.store.migrations": ["*.sql"]},
    include_package_data=True,
)
