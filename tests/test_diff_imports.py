"""Import paths run no code the user did not ask for.

Without ``allow_import`` only keras.applications' model functions are called; any other
path is refused before a module is imported or an attribute is read. With it, only a
keras.Model, a keras.Model subclass or a Python function is used, and the result must
be a keras.Model. Every refusal here proves that nothing was called or imported.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from archspec.compare.sources import _FILE_SUFFIXES, load_graph
from archspec.errors import SpecError
from tests.conftest import ROOT

RULE = "without --allow-import"


def refusal(ref: str, **kwargs) -> str:
    with pytest.raises(SpecError) as info:
        load_graph(ref, **kwargs)
    message = info.value.format()
    assert "\n" not in message
    return message


class Recorder:
    """A callable that is not a function (as builtins.exit is not): records its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1


@pytest.mark.parametrize(
    ("module", "attr"),
    [
        ("code", "interact"),
        ("builtins", "exit"),
        ("os", "abort"),
        ("os", "system"),
        ("subprocess", "run"),
        ("shutil", "rmtree"),
    ],
)
def test_dangerous_callables_are_refused_uncalled(module, attr, monkeypatch):
    target = __import__(module)
    sentinel = Recorder()
    monkeypatch.setattr(target, attr, sentinel)
    assert RULE in refusal(f"{module}.{attr}")
    assert RULE in refusal(f"{module}:{attr}")
    assert sentinel.calls == 0


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}(\.[A-Za-z_][A-Za-z0-9_]{0,8}){1,3}", fullmatch=True)
)
def test_no_other_path_imports_anything(ref):
    """Any dotted path outside keras.applications is refused without importing a module."""
    # paths that name files (`a.yaml`, `x.keras`, `m.onnx`) are not import paths
    assume(not ref.endswith((".yaml", ".yml", ".keras")) and not Path(ref).exists())
    assume(Path(ref).suffix not in _FILE_SUFFIXES and not ref.startswith("keras.applications."))
    before = set(sys.modules)
    assert RULE in refusal(ref)
    assert set(sys.modules) == before


def test_module_in_the_current_folder_is_not_imported(tmp_path, monkeypatch):
    (tmp_path / "mymodels.py").write_text(
        "open('imported.txt', 'w').write('ran')\ndef build():\n    raise SystemExit(0)\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # even where the folder is importable
    assert RULE in refusal("mymodels.build")
    assert not (tmp_path / "imported.txt").exists()
    assert "mymodels" not in sys.modules


def test_keras_applications_paths_only_their_model_functions(monkeypatch):
    import keras

    calls = []
    tiny = _tiny_model()

    def mobile_net(weights="imagenet", **kwargs):
        calls.append({"weights": weights, **kwargs})
        return tiny

    monkeypatch.setattr(keras.applications, "MobileNet", mobile_net)
    monkeypatch.setattr(keras.applications.mobilenet, "MobileNet", mobile_net)
    for ref in ("keras.applications.MobileNet", "keras.applications.mobilenet.MobileNet"):
        graph, label = load_graph(ref)
        assert label == f"tiny ({ref})" and "d" in graph.nodes
    assert calls == [{"weights": None}, {"weights": None}]

    # a function of keras.applications that is not a model function is not called
    for name in ("preprocess_input", "decode_predictions"):
        sentinel = Recorder()
        monkeypatch.setattr(keras.applications.resnet, name, sentinel)
        assert "not one of keras.applications' model functions" in refusal(
            f"keras.applications.resnet.{name}"
        )
        assert sentinel.calls == 0
    for ref in (
        "keras.applications.resnet",  # a module
        "keras.applications.nosuch.ResNet50",
        "keras.applications.resnet.ResNet50.__init__",
        "keras.applications._private.ResNet50",
    ):
        refusal(ref)
    assert "did you mean `keras.applications.ResNet50`?" in refusal("keras.applications.ResNet5")


def _tiny_model():
    import keras

    inputs = keras.Input((4,))
    return keras.Model(inputs, keras.layers.Dense(2, name="d")(inputs), name="tiny")


# ---------------------------------------------------------------------------- opt-in


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A module of the user's own in the current folder, imported fresh by each test."""
    (tmp_path / "usermodels.py").write_text(
        textwrap.dedent(
            """
            import keras

            CALLS = []

            def build():
                CALLS.append("build")
                inputs = keras.Input((4,))
                return keras.Model(inputs, keras.layers.Dense(2, name="d")(inputs))

            def needs_args(width):
                CALLS.append("needs_args")

            def not_a_model():
                CALLS.append("not_a_model")
                return 42

            def exits():
                raise SystemExit(0)

            class NotAModel:
                def __init__(self):
                    CALLS.append("NotAModel")

            class Net(keras.Model):
                def __init__(self):
                    CALLS.append("Net")
                    inputs = keras.Input((4,))
                    super().__init__(inputs, keras.layers.Dense(3, name="d")(inputs))

            MODEL = build()
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    yield lambda: sys.modules["usermodels"].CALLS
    sys.modules.pop("usermodels", None)


def test_opt_in_imports_the_users_module(user_module):
    graph, _ = load_graph("usermodels.build", allow_import=True)
    assert "d" in graph.nodes
    assert user_module() == ["build", "build"]  # at import (MODEL) and the call
    graph, _ = load_graph("usermodels.MODEL", allow_import=True)  # an instance: not called
    graph, _ = load_graph("usermodels:Net", allow_import=True)
    assert graph.nodes["d"].shape == (3,)
    assert user_module() == ["build", "build", "Net"]


def test_opt_in_still_refuses_what_is_not_a_model(user_module, monkeypatch):
    message = refusal("usermodels.NotAModel", allow_import=True)
    assert "not a keras.Model, a keras.Model subclass or a function" in message
    assert "cannot be called without arguments" in refusal(
        "usermodels.needs_args", allow_import=True
    )
    assert "returned a int, not a keras.Model" in refusal(
        "usermodels.not_a_model", allow_import=True
    )
    assert "failed: SystemExit" in refusal("usermodels.exits", allow_import=True)
    assert "NotAModel" not in user_module() and "needs_args" not in user_module()

    import builtins

    for module, attr in ((builtins, "exit"), (os, "abort"), (os, "system")):
        sentinel = Recorder()
        monkeypatch.setattr(module, attr, sentinel)
        assert "so it is not called" in refusal(f"{module.__name__}.{attr}", allow_import=True)
        assert sentinel.calls == 0
    # a builtin function stays uncalled too: a counter's __next__ would count a call
    counter = itertools.count()
    monkeypatch.setattr(os, "abort", counter.__next__)
    assert "so it is not called" in refusal("os.abort", allow_import=True)
    assert next(counter) == 0


# ---------------------------------------------------------------------------- command line


@pytest.mark.parametrize("ref", ["code.interact", "builtins.exit", "os.abort", "os.system"])
def test_command_line_refuses_with_one_line(ref, tmp_path):
    """`code.interact` would run Python from stdin; `exit` would end "identical"; `abort` 134."""
    marker = tmp_path / "ran.txt"
    result = subprocess.run(
        [sys.executable, "-m", "archspec", "diff", "specs/lenet5.yaml", ref],
        input=f"open({str(marker)!r}, 'w').write('ran')\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 2, result
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"error: {ref}: ")
    assert RULE in result.stderr
    assert not marker.exists()
