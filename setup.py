"""Build the Cython extensions in agenttrace/_native/.

Every extension has a pure-Python twin, so a machine without a working compiler
still gets a working (slower) install: a failed build prints a warning and goes on.
Metadata lives in pyproject.toml; this file only declares the extensions.
"""

from __future__ import annotations

import glob
import os
import runpy
import sys

from setuptools import find_packages, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """build_ext that warns instead of failing: the twins keep the install usable."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:
            self._warn(f"building the compiled extensions failed ({exc})")

    def build_extension(self, ext) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._warn(f"building {ext.name} failed ({exc})")

    @staticmethod
    def _warn(what: str) -> None:
        bar = "*" * 78
        print(
            f"\n{bar}\nWARNING: {what}.\nagenttrace will use its pure-Python twins, which are slower.\n{bar}\n",
            file=sys.stderr,
        )


def _no_extensions() -> bool:
    # agenttrace/_native/__init__.py is the one reader of AGENTTRACE_NO_EXTENSIONS; run that
    # file alone (it needs only the standard library), not the package, whose deps a build lacks.
    native = runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "agenttrace/_native/__init__.py"))
    return native["no_extensions"]()


def extensions() -> list:
    if _no_extensions():
        return []
    sources = sorted(glob.glob("agenttrace/_native/*.pyx"))
    if not sources:
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        OptionalBuildExt._warn("Cython is not installed")
        return []
    from setuptools import Extension

    exts = [
        Extension(
            "agenttrace._native." + os.path.splitext(os.path.basename(src))[0],
            [src],
            extra_compile_args=["-O3", "-std=c11"],
        )
        for src in sources
    ]
    return cythonize(exts, compiler_directives={"language_level": "3"}, quiet=True)


def packages() -> list[str]:
    # tui/ sits at the top level (DESIGN.md's layout) but installs as agenttrace.tui.
    found = find_packages(include=["agenttrace", "agenttrace.*"])
    return found + ["agenttrace.tui"] + ["agenttrace.tui." + p for p in find_packages("tui")]


setup(
    packages=packages(),
    package_dir={"agenttrace.tui": "tui"},
    ext_modules=extensions(),
    cmdclass={"build_ext": OptionalBuildExt},
)
