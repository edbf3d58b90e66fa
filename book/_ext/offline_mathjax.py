"""The website's formulas typeset by a local copy of MathJax 3, not one fetched from a CDN at page load, so
that the pages show rendered math offline too (a downloaded build, a classroom without internet, the offline
build machine's own checks).

The copy comes from the ``django-static-mathjax`` package: MathJax's own release files packaged on PyPI (as
the top-level package ``mathjax``; nothing of Django is used). Its ``es5`` folder, the browser bundles, is
copied into the site's ``_static/mathjax/es5``; Sphinx's ``mathjax_path`` (relative to ``_static``) points at
the bundle Sphinx uses by default, TeX input with CommonHTML output.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config

BUNDLE = "mathjax/es5/tex-mml-chtml.js"


def mathjax_es5() -> Path:
    """The ``es5`` folder of the installed MathJax copy, or an error that says what to install."""
    try:
        import mathjax   # the django-static-mathjax package
    except ImportError:
        raise RuntimeError("the website needs a local MathJax: pip install -e '.[book]' (it installs "
                           "django-static-mathjax)") from None
    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (es5 / "tex-mml-chtml.js").is_file():
        raise RuntimeError(f"{es5} holds no tex-mml-chtml.js: reinstall django-static-mathjax (pip install -e '.[book]')")
    return es5


def _use_local_bundle(app: Sphinx, config: Config) -> None:
    config.mathjax_path = BUNDLE


def _copy_bundle(app: Sphinx, exception: Exception | None) -> None:
    if exception is None and app.builder.format == "html":
        shutil.copytree(mathjax_es5(), Path(app.outdir) / "_static" / "mathjax" / "es5", dirs_exist_ok=True)


def setup(app: Sphinx) -> dict[str, bool]:
    mathjax_es5()   # fail at the start of the build, not after executing every notebook
    app.connect("config-inited", _use_local_bundle)
    app.connect("build-finished", _copy_bundle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
