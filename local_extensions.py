"""Jinja extensions cookiecutter loads for this template (see ``_extensions``).

Cookiecutter renders every answer given as a default or through ``--no-input``/
``extra_context`` as a Jinja template, with a plain (unsandboxed) environment. An
answer such as ``{{ cycler.__init__.__globals__.os.system(...) }}`` would therefore run
code on the machine that bakes the template. ``SandboxedAnswers`` turns the environment
into a sandboxed one before anything is rendered, so such an answer stops with a
``SecurityError`` instead of executing, while ordinary expressions keep working.
"""

from __future__ import annotations

from jinja2 import Environment
from jinja2.ext import Extension
from jinja2.sandbox import SandboxedEnvironment, safe_range


class SandboxedAnswers(Extension):
    """Give cookiecutter's environment the attribute and call checks of Jinja's sandbox."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        if isinstance(environment, SandboxedEnvironment):
            return
        base = type(environment)
        environment.__class__ = type(f"Sandboxed{base.__name__}", (SandboxedEnvironment, base), {})
        # What SandboxedEnvironment.__init__ would have set up.
        environment.globals["range"] = safe_range
        environment.binop_table = SandboxedEnvironment.default_binop_table.copy()
        environment.unop_table = SandboxedEnvironment.default_unop_table.copy()
