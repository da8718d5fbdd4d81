"""Writes ONNX fixtures with Debian's python3-onnx (run with /usr/bin/python3).

Benign: a small model with inline weights, and one whose weights are saved as
external data beside it (what onnx.save_model(save_as_external_data=True)
writes). Malicious: the same model with its external data location rewritten
to an absolute path, to a path that climbs out of the folder, to a symbolic
link out of the folder, and in a subgraph of an If node. Nothing is loaded or
run: onnx only builds and serializes protobuf messages here.
"""
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "models")


def model(weight_name="W", subgraph_initializer=None):
    w = numpy_helper.from_array(np.arange(16, dtype=np.float32).reshape(4, 4), weight_name)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    nodes = [helper.make_node("MatMul", ["x", weight_name], ["y"])]
    if subgraph_initializer is not None:
        branch = helper.make_graph([helper.make_node("Identity", ["s"], ["z"])], "branch", [],
                                   [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2])],
                                   initializer=[subgraph_initializer])
        cond = numpy_helper.from_array(np.array(True), "cond")
        nodes.append(helper.make_node("If", ["cond"], ["z"], then_branch=branch, else_branch=branch))
        graph = helper.make_graph(nodes, "g", [x], [y, helper.make_tensor_value_info("z", TensorProto.FLOAT, [2])],
                                  initializer=[w, cond])
    else:
        graph = helper.make_graph(nodes, "g", [x], [y], initializer=[w])
    m = helper.make_model(graph, producer_name="violet-fixtures", opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def external(m, location, name="W"):
    for t in m.graph.initializer:
        if t.name == name:
            set_external(t, location)
    return m


def set_external(t, location):
    t.ClearField("raw_data")
    t.ClearField("float_data")
    t.data_location = TensorProto.EXTERNAL
    del t.external_data[:]
    for k, v in (("location", location), ("offset", "0"), ("length", "64")):
        e = t.external_data.add()
        e.key, e.value = k, v


def save(m, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(m.SerializeToString())


benign = os.path.join(out, "benign", "onnx")
malicious = os.path.join(out, "malicious", "onnx")
for d in (benign, malicious):
    shutil.rmtree(d, ignore_errors=True)

save(model(), os.path.join(benign, "matmul.onnx"))
ext_dir = os.path.join(benign, "external")
os.makedirs(ext_dir)
with open(os.path.join(ext_dir, "weights.bin"), "wb") as f:
    f.write(np.arange(16, dtype=np.float32).tobytes())
save(external(model(), "weights.bin"), os.path.join(ext_dir, "model.onnx"))

save(external(model(), "/etc/passwd"), os.path.join(malicious, "absolute_path.onnx"))
save(external(model(), "../../../../etc/passwd"), os.path.join(malicious, "traversal.onnx"))
link_dir = os.path.join(malicious, "symlink")
os.makedirs(link_dir)
os.symlink("/etc/passwd", os.path.join(link_dir, "weights.bin"))
save(external(model(), "weights.bin"), os.path.join(link_dir, "model.onnx"))
hidden = numpy_helper.from_array(np.zeros(2, dtype=np.float32), "s")
set_external(hidden, "../../secret.bin")
save(model(subgraph_initializer=hidden), os.path.join(malicious, "subgraph_traversal.onnx"))
print("onnx", onnx.__version__)
