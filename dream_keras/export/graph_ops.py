"""The op types a SavedModel's graph uses, and the checks that stock TF Serving can run them all."""

from __future__ import annotations

import collections
import os
import pathlib

from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry

# Registered ops that call back into the Python interpreter, which TF Serving does not have.
PYTHON_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})


def _graphs(saved_model_dir: str | os.PathLike):
    """The GraphDefs of ``saved_model_dir/saved_model.pb`` (one per MetaGraph)."""
    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((pathlib.Path(saved_model_dir) / "saved_model.pb").read_bytes())
    return [meta_graph.graph_def for meta_graph in saved_model.meta_graphs]


def saved_model_op_types(saved_model_dir: str | os.PathLike) -> tuple[collections.Counter, set[str]]:
    """Op types in ``saved_model.pb``: the graphs' nodes and every function in their libraries.

    Returns:
        ``(counts, function_names)``: how many nodes use each op type, and the names of the graph's
        library functions (a node may call one of them by name instead of by an op type).
    """
    counts: collections.Counter = collections.Counter()
    function_names: set[str] = set()
    for graph in _graphs(saved_model_dir):
        counts.update(node.op for node in graph.node)
        for function in graph.library.function:
            function_names.add(function.signature.name)
            counts.update(node.op for node in function.node_def)
    return counts, function_names


def xla_compiled_functions(saved_model_dir: str | os.PathLike) -> list[str]:
    """Names of the library functions marked ``_XlaMustCompile`` (``tf.function(jit_compile=True)``).

    TF Serving does not compile XLA by default, so a servable must hold none. Sorted.
    """
    return sorted(function.signature.name for graph in _graphs(saved_model_dir)
                  for function in graph.library.function if function.attr["_XlaMustCompile"].b)


def non_builtin_ops(saved_model_dir: str | os.PathLike) -> list[str]:
    """Op types TF Serving could not run: not registered in TensorFlow, or calling Python. Sorted."""
    counts, function_names = saved_model_op_types(saved_model_dir)
    return sorted(op for op in counts
                  if op in PYTHON_OPS or (op not in function_names and op_def_registry.get(op) is None))
