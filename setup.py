"""Only one job beyond pyproject.toml: ship the top-level site_templates/ and site_assets/ inside the
`publisher` package of a built wheel (as publisher/_site/<folder>/), where publisher/_resources.py finds them.
The owner wants the folders at the top of the repository, which package-data globs cannot reach."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SITE_DIRS = ("site_templates", "site_assets")


class BuildPyWithSite(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the repository folders directly
        for name in SITE_DIRS:
            source = Path(__file__).resolve().parent / name
            if not source.is_dir():
                raise FileNotFoundError(f"{source} is missing: the wheel would have no site {name}")
            self.copy_tree(str(source), str(Path(self.build_lib) / "publisher" / "_site" / name))


setup(cmdclass={"build_py": BuildPyWithSite})
