#!/usr/bin/python3
"""Parity of fbnet with PyTorch on identical weights and batches, for any graph.

Each case is a graph in fbnet's JSON (src/formats/graph_json.hpp): the report's
FF and FB nets, FB unrolled over 4 steps, the controls ff-deep, fb-fixed
and fb-untied, and the BLT conv preset (8 features, 3 steps) as `fbnet info --graph-json`
describes them (so the presets are never re-described here), and small graphs
written below: several edges, add-combine with per-edge alphas, a readout at
every step with zero first-step feedback, dropout on the input and between
hidden layers, a lateral edge, an edge from the logits, frozen lower layers,
weights per step (untied), a second input node, each optimiser (SGD with Nesterov and weight decay,
Adam, AdamW) under each learning-rate schedule (step, cosine, linear warmup) for five steps, and
convolutional nets: a small BLT (Spoerer et al.: conv, ReLU, max-pool, flatten, dropout, Linear; lateral
and top-down conv edges, added; the stand-in for the BLT preset), the same with mix and gain edges
interleaved into one node, pointwise and 5x5 conv adapters, a top-down edge upsampling by 4 x 3, a
linear adapter from the logits into a conv node, a gain edge into the input image and a strided conv,
and an MLP with gain edges.
tests/peer/graph_case.cpp (a real subprocess) trains the graph for four steps (or a case's own count)
as training_loop.cpp trains (updates applied inside
backward as ranges become final, gradients never zeroed) and writes fbnet's
initial weights, the batches, its dropout masks and its results. This script
builds the PyTorch model from the graph JSON alone (GraphModel: an nn.Linear
or nn.Conv2d per linear or conv2d node, F.max_pool2d and flatten, per edge
an nn.Linear on the flattened source or, between [C, H, W] nodes,
nn.Upsample(nearest) and nn.Conv2d, all under fbnet's parameter names; every
node computed at every step, so that fbnet's pruned schedule is checked, not
copied), replays the steps with the torch.optim optimiser and scheduler that fbnet's settings name
(zero_grad, backward, step; scheduler.step() after each epoch; frozen parameters left out), and checks per
tensor, as max |a - b| / max |b|:
  - the logits of every readout and the loss of the first batch, within 1e-4,
  - every parameter gradient of the first batch, within 1e-4 (a frozen
    parameter's must be exactly zero),
  - every weight after the last step, within 1e-4 of the weight's largest value,
  - every step's update w_k - w_(k-1), within UPDATE_TOLERANCE of that
    update's own largest value: an update can be wrong by 10% and still move
    the weights by less than 1e-4 of their size (a frozen weight's update
    must be exactly zero),
and that every dropout mask holds only 0 and 1 / (1 - p), dropping about p.
PyTorch runs in float32 and float64, and fbnet must agree with both, except
where the two disagree with each other by more than the tolerance: then fbnet
must agree with one of them, and the other's row is shown, not asserted. A
ReLU pre-activation within float32's rounding of zero takes either side
depending on the order a BLAS kernel sums in, and from that step on the
trajectories part (seen on a CPU whose OpenBLAS runs its generic SSE3 kernels:
ff-deep's weights after 4 steps, 1.4e-3 apart between torch float32 and
float64; fbnet follows float64 on oneDNN's products and float32 on OpenBLAS's).

usage: /usr/bin/python3 tests/peer/graph_parity.py --peer-case build/tests/fbnet_graph_case --fbnet build/fbnet
       [--verbose] [--case NAME]
"""
import argparse
import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch
import torch.nn.functional as F

TOLERANCE = 1e-4
# An update lr * v is ~1e-4 of the weight it changes, and fbnet keeps weights
# in float32, so w_k - w_(k-1) carries the rounding of both weights (~6e-8 of
# |w| each): up to ~1e-3 of the update. Measured worst over the cases: 1.7e-4
# against torch float32, 5.4e-4 against float64 (a feedback weight at lr 0.05).
UPDATE_TOLERANCE = 2e-3


# --- The cases. ---

def node(name, op, inputs, shape, **attributes):
    return {"name": name, "op": op, "inputs": inputs, "shape": shape, **attributes}


def edge(name, source, target, combine, alpha):
    return {"name": name, "source": source, "target": target, "adapter": "linear", "combine": combine, "alpha": alpha}


def graph(nodes, edges, steps, readout="out", readout_steps="last-step", first_step_feedback="none"):
    return {"nodes": nodes, "edges": edges, "readout": readout, "steps": steps, "readout_steps": readout_steps,
            "first_step_feedback": first_step_feedback}


# x [20] -> layers.0 -> h1 [16] -> layers.1 -> h2 [12] -> (dropout) -> layers.2 (out) [5]
TWO_HIDDEN = [
    node("x", "input", [], [20]),
    node("layers.0", "linear", ["x"], [16]),
    node("h1", "relu", ["layers.0"], [16]),
    node("layers.1", "linear", ["h1"], [12]),
    node("h2", "relu", ["layers.1"], [12]),
    node("dropout", "dropout", ["h2"], [12], dropout=0.5),
    node("layers.2", "linear", ["dropout"], [5], alias="out"),
]
# x [20] -> layers.0 -> h1 [16] -> (dropout) -> layers.1 (out) [5]
ONE_HIDDEN = [
    node("x", "input", [], [20]),
    node("layers.0", "linear", ["x"], [16]),
    node("h1", "relu", ["layers.0"], [16]),
    node("dropout", "dropout", ["h1"], [16], dropout=0.3),
    node("layers.1", "linear", ["dropout"], [5], alias="out"),
]
HAND_TRAINING = {"learning_rate": 0.05, "momentum": 0.9}


def spatial_edge(name, source, target, combine, alpha, **attributes):
    """An edge whose adapter fbnet derives from the shapes: conv between [C, H, W] nodes (kernel 3 unless
    given), linear otherwise. The adapter is left out, as a hand-written graph may."""
    return {"name": name, "source": source, "target": target, "combine": combine, "alpha": alpha, **attributes}


# Spoerer et al.'s BLT in miniature (the stand-in for the BLT preset):
# x [1, 8, 8] -> conv1 [4, 8, 8] -> h1 -> pool1 [4, 4, 4] -> conv2 [6, 4, 4] -> h2 -> flatten [96] -> dropout -> out [5]
BLT_NODES = [
    node("x", "input", [], [1, 8, 8]),
    node("conv1", "conv2d", ["x"], [4, 8, 8], kernel=3, padding=1),
    node("h1", "relu", ["conv1"], [4, 8, 8]),
    node("pool1", "max-pool2d", ["h1"], [4, 4, 4], kernel=2),
    node("conv2", "conv2d", ["pool1"], [6, 4, 4], kernel=3, padding=1),
    node("h2", "relu", ["conv2"], [6, 4, 4]),
    node("flatten", "flatten", ["h2"], [96]),
    node("dropout", "dropout", ["flatten"], [96], dropout=0.5),
    node("out", "linear", ["dropout"], [5]),
]
# The same net on a non-square image, with a strided conv2 and no flatten (dropout on the image, the Linear
# reading it flat): x [2, 8, 6] -> conv1 [4, 8, 6] -> h1 -> pool1 [4, 4, 3] -> conv2 (stride 2) [6, 2, 2] -> h2
# -> dropout [6, 2, 2] -> out [5]; an edge h2 -> conv1 upsamples by 4 x 3.
BLT_STRIDED_NODES = [
    node("x", "input", [], [2, 8, 6]),
    node("conv1", "conv2d", ["x"], [4, 8, 6], kernel=3, padding=1),
    node("h1", "relu", ["conv1"], [4, 8, 6]),
    node("pool1", "max-pool2d", ["h1"], [4, 4, 3], kernel=2),
    node("conv2", "conv2d", ["pool1"], [6, 2, 2], kernel=3, stride=2, padding=1),
    node("h2", "relu", ["conv2"], [6, 2, 2]),
    node("dropout", "dropout", ["h2"], [6, 2, 2], dropout=0.5),
    node("out", "linear", ["dropout"], [5]),
]

# name: (how the graph is obtained, graph_case settings). A preset is the
# `fbnet info` arguments of the report's net; anything else is the graph JSON.
CASES = {
    "ff": (["--model", "ff"], {"learning_rate": 0.02, "momentum": 0.7}),
    "fb": (["--model", "fb"], {"learning_rate": 0.02, "momentum": 0.3}),
    "fb 4 steps": (["--model", "fb", "--steps", "4"], {"learning_rate": 0.02, "momentum": 0.3}),
    "ff-deep": (["--model", "ff-deep"], {"learning_rate": 0.04, "momentum": 0.5}),
    "fb-fixed": (["--model", "fb-fixed"], {"learning_rate": 0.02, "momentum": 0.3, "frozen": "feedback.0"}),
    "fb-untied": (["--model", "fb-untied"], {"learning_rate": 0.02, "momentum": 0.3}),
    # The BLT conv preset itself, narrowed to 8 features, unrolled over 3 steps, on the default convolution engine.
    "blt preset": (["--model", "blt", "--conv-features", "8", "--steps", "3"], {"learning_rate": 0.01, "momentum": 0.9}),
    # The same on im2col (--conv-engine im2col; the default where fbnet has oneDNN is its primitives).
    "blt preset, im2col": (["--model", "blt", "--conv-features", "8", "--steps", "3"],
                           {"learning_rate": 0.01, "momentum": 0.9, "conv_engine": "im2col"}),
    # The preset as `fbnet train --model blt` trains it: 32 features, 4 steps.
    "blt preset, as trained": (["--model", "blt"], {"learning_rate": 0.01, "momentum": 0.9}),
    "h2->h1, h1->x": (graph(TWO_HIDDEN, [edge("feedback.0", "h2", "h1", "mix", 0.3),
                                         edge("feedback.1", "h1", "x", "mix", 0.3)], steps=3), HAND_TRAINING),
    # Two edges into x combine in order (add, then mix); one enters a Linear's output (pre-activation).
    "add, per-edge alphas": (graph(TWO_HIDDEN, [edge("down.h1", "h2", "h1", "add", 0.2),
                                                edge("down.x", "h2", "x", "add", 0.6),
                                                edge("up.x", "h1", "x", "mix", 0.4),
                                                edge("pre.h2", "h2", "layers.1", "add", 0.15)], steps=3), HAND_TRAINING),
    "every-step, zero first": (graph(ONE_HIDDEN, [edge("feedback.0", "h1", "x", "mix", 0.5)], steps=4,
                                     readout_steps="every-step", first_step_feedback="zero"), HAND_TRAINING),
    "dropout in and between": (graph([
        node("x", "input", [], [20]),
        node("x.dropout", "dropout", ["x"], [20], dropout=0.2),
        node("layers.0", "linear", ["x.dropout"], [16]),
        node("h1", "relu", ["layers.0"], [16]),
        node("h1.dropout", "dropout", ["h1"], [16], dropout=0.3),
        node("layers.1", "linear", ["h1.dropout"], [12]),
        node("h2", "relu", ["layers.1"], [12]),
        node("h2.dropout", "dropout", ["h2"], [12], dropout=0.5),
        node("layers.2", "linear", ["h2.dropout"], [5], alias="out"),
    ], [edge("feedback.0", "h2", "h1", "mix", 0.3), edge("feedback.1", "h1", "x", "mix", 0.3)], steps=3), HAND_TRAINING),
    "lateral h1->h1": (graph(ONE_HIDDEN, [edge("lateral", "h1", "h1", "mix", 0.4),
                                          edge("feedback.0", "h1", "x", "add", 0.2)], steps=3), HAND_TRAINING),
    # The edge's source named by the readout's alias.
    "logits -> h1": (graph(TWO_HIDDEN, [edge("from_logits", "out", "h1", "add", 0.1),
                                        edge("feedback.0", "h2", "h1", "mix", 0.3)], steps=3), HAND_TRAINING),
    # Experiment 2's shape: the feedforward layers below the readout keep their weights.
    "frozen lower layers": (graph(TWO_HIDDEN, [edge("feedback.0", "h2", "x", "mix", 0.5),
                                               edge("feedback.1", "h1", "x", "mix", 0.25)], steps=4,
                                  readout_steps="every-step", first_step_feedback="zero"),
                            {**HAND_TRAINING, "frozen": "layers.0,layers.1"}),
    # Weights per step (untied) on the first layer and the readout, read out at every step.
    "untied, every step": (graph([{**n, "untied": True} if n["name"] in ("layers.0", "layers.1") else n for n in ONE_HIDDEN],
                                 [edge("feedback.0", "h1", "x", "mix", 0.4)], steps=3, readout_steps="every-step",
                                 first_step_feedback="zero"), HAND_TRAINING),
    # The optimisers and schedules against torch.optim on a feedback net, 5 steps each.
    "sgd nesterov, decay, step lr": (graph(ONE_HIDDEN, [edge("feedback.0", "h1", "x", "mix", 0.3)], steps=2),
                                     {**HAND_TRAINING, "nesterov": "true", "weight_decay": 0.01, "lr_schedule": "step",
                                      "lr_step_epochs": 2, "lr_gamma": 0.5, "batches": 5, "batches_per_epoch": 1}),
    "adam, warmup, cosine": (graph(ONE_HIDDEN, [edge("feedback.0", "h1", "x", "mix", 0.3)], steps=2),
                             {"optimizer": "adam", "learning_rate": 0.01, "weight_decay": 0.001, "warmup_epochs": 2,
                              "lr_schedule": "cosine", "batches": 5, "batches_per_epoch": 1}),
    "adamw, cosine, 2 batches an epoch": (graph(TWO_HIDDEN, [edge("feedback.0", "h2", "h1", "mix", 0.3)], steps=2),
                                          {"optimizer": "adamw", "learning_rate": 0.01, "weight_decay": 0.1,
                                           "adam_beta1": 0.8, "adam_beta2": 0.99, "lr_schedule": "cosine",
                                           "batches": 5, "batches_per_epoch": 2}),
    # A second input node read only through an edge, at steps 0..S-2.
    "cue input": (graph([
        node("x", "input", [], [20]),
        node("cue", "input", [], [4]),
        node("layers.0", "linear", ["x"], [16]),
        node("h1", "relu", ["layers.0"], [16]),
        node("layers.1", "linear", ["h1"], [5], alias="out"),
    ], [edge("from_cue", "cue", "h1", "add", 0.5), edge("feedback.0", "h1", "x", "mix", 0.3)], steps=3), HAND_TRAINING),
    # Bottom-up, lateral and top-down (nearest upsampling x2, then a 3x3 conv) convolutions, added, 4 steps.
    "blt conv": (graph(BLT_NODES, [spatial_edge("lateral.1", "h1", "conv1", "add", 1.0),
                                   spatial_edge("lateral.2", "h2", "conv2", "add", 1.0),
                                   spatial_edge("topdown.2.1", "h2", "conv1", "add", 1.0)], steps=4), HAND_TRAINING),
    # Mix and gain interleaved into one node in declaration order, a 1x1 (pointwise) and a 5x5 conv adapter,
    # a top-down conv upsampling by 4 x 3, a linear adapter from the logits into a conv node, a gain edge into the
    # input image, and a strided conv node; read out at every step, zero feedback at step 0. At lr 0.3: the gain
    # edge into the small conv2 gets gradients of ~4e-5, so at HAND_TRAINING's 0.05 its update is ~4e-6 of its
    # weights, and fbnet's float32 weights round it by up to 0.5 ulp of the weight: 6e-3 of the update against
    # torch float64, falling as 1 / lr (not an error of fbnet's: torch float32 agrees to 7e-5).
    "blt mix, gain, strided": (graph(BLT_STRIDED_NODES, [
        spatial_edge("lateral.1", "h1", "conv1", "mix", 0.3, kernel=1),
        spatial_edge("topdown.2.1", "h2", "conv1", "gain", 0.4, kernel=5),
        spatial_edge("lateral.2", "h2", "conv2", "gain", 0.5),
        spatial_edge("from_logits", "out", "conv2", "mix", 0.2),
        spatial_edge("topdown.1.x", "h1", "x", "gain", 0.25),
    ], steps=4, readout_steps="every-step", first_step_feedback="zero"), {"learning_rate": 0.3, "momentum": 0.9}),
    # Gain edges on vectors (linear adapters), one after an add into the same node.
    "mlp gain": (graph(TWO_HIDDEN, [edge("down.h1", "h2", "h1", "add", 0.2),
                                    edge("gain.h1", "h2", "h1", "gain", 0.5),
                                    edge("gain.x", "h1", "x", "gain", 0.3)], steps=3), HAND_TRAINING),
}


# --- fbnet's graph in PyTorch. ---

class Schedule:
    """What runs at which step here: every node at every step. fbnet computes only what the readouts and the
    next step need (src/model/graph.cpp schedule_of); computing everything must give the same loss, so a node
    fbnet wrongly skips, or a stale value it reads, shows up as a difference."""

    def __init__(self, graph, index):
        nodes, steps = graph["nodes"], graph["steps"]
        if graph["readout_steps"] not in ("last-step", "every-step"):
            raise ValueError(f"readout_steps {graph['readout_steps']!r}")
        if graph["first_step_feedback"] not in ("none", "zero"):
            raise ValueError(f"first_step_feedback {graph['first_step_feedback']!r}")
        self.readout_steps = [step for step in range(steps)
                              if graph["readout_steps"] == "every-step" or step == steps - 1]
        self.edges_into = [[e for e in graph["edges"] if index[e["target"]] == n] for n in range(len(nodes))]
        self.first_step_zero = graph["first_step_feedback"] == "zero"

    def combines_at(self, step, n):
        """Whether edges combine into node n at `step`: a signal from step > 0, a zero one at step 0 under "zero"."""
        return bool(self.edges_into[n]) and (step > 0 or self.first_step_zero)


class GraphModel(torch.nn.Module):
    """fbnet's graph semantics (src/model/graph.hpp, network.hpp), from its JSON only.

    Per step t, each node n the schedule computes, in order:
      v_n(t) = input | linear(flat(u_in(t))) | conv2d(u_in(t)) | max_pool2d(u_in(t)) | flat(u_in(t))
             | relu(u_in(t)) | u_in(t) * mask_n(t)
    (an untied linear or conv2d node has weights of its own at each step; flat: [B, C, H, W] -> [B, C*H*W]),
      u_n(t) = v_n(t), then for each edge e into n, in declaration order (fb_e = 0 at t = 0),
      u_n   <- keep_e u_n + alpha_e fb_e        (mix: keep_e = 1 - alpha_e; add: keep_e = 1)
      u_n   <- u_n (1 + alpha_e fb_e)           (gain)
    with fb_e = adapter_e(v_source(t-1)): between [C, H, W] nodes nn.Upsample(nearest, by the whole factors
    target H / source H and target W / source W; none at 1) then nn.Conv2d(kernel K, padding K // 2), otherwise
    an nn.Linear of the flattened source, shaped as the target. Consumers read u, edges send v, and the logits
    are v of the readout node at each readout step.
    """

    def __init__(self, graph):
        super().__init__()
        self._graph = graph
        nodes = graph["nodes"]
        self._index = {}
        for n, entry in enumerate(nodes):
            self._index[entry["name"]] = n
            if "alias" in entry:
                self._index[entry["alias"]] = n
        self._schedule = Schedule(graph, self._index)
        self._module_of = {}    # parameter prefix -> nn.Linear or nn.Conv2d
        self._upsample_of = {}  # conv edge name -> nn.Upsample, or None at factor 1
        for entry in nodes:
            op = entry["op"]
            if op not in ("input", "linear", "relu", "dropout", "conv2d", "max-pool2d", "flatten"):
                raise ValueError(f"node {entry['name']!r}: unknown op {op!r}")
            if op == "input":
                continue
            (source,) = entry["inputs"]
            shape = self._shape(source)
            if op in ("linear", "conv2d"):
                for step in range(graph["steps"] if entry.get("untied") else 1):
                    if op == "linear":  # a Linear reads any input flat
                        module = torch.nn.Linear(math.prod(shape), math.prod(entry["shape"]))
                    else:
                        module = torch.nn.Conv2d(shape[0], entry["shape"][0], entry["kernel"], stride=entry["stride"],
                                                 padding=entry["padding"])
                    self._add_module(self._weights(entry, step), module)
            expected = self._output_shape(entry, shape)
            if expected != entry["shape"]:
                raise ValueError(f"node {entry['name']!r}: shape {entry['shape']}, but torch gives {expected}")
        for e in graph["edges"]:
            if e["combine"] not in ("mix", "add", "gain"):
                raise ValueError(f"edge {e['name']!r}: combine {e['combine']!r}")
            source, target = self._shape(e["source"]), self._shape(e["target"])
            adapter = "conv" if len(source) == 3 and len(target) == 3 else "linear"
            if e.get("adapter", adapter) != adapter:
                raise ValueError(f"edge {e['name']!r}: adapter {e['adapter']!r}, but {source} -> {target} is {adapter!r}")
            if adapter == "linear":
                self._add_module(e["name"], torch.nn.Linear(math.prod(source), math.prod(target)))
                continue
            factors = (target[1] // source[1], target[2] // source[2])
            if target[1] % source[1] or target[2] % source[2] or min(factors) < 1:
                raise ValueError(f"edge {e['name']!r}: {source} -> {target} is no whole upsampling")
            kernel = e.get("kernel", 3)
            self._add_module(e["name"], torch.nn.Conv2d(source[0], target[0], kernel, padding=kernel // 2))
            # Not a submodule: the parameters stay EDGE.weight and EDGE.bias, as fbnet names them.
            self._upsample_of[e["name"]] = (torch.nn.Upsample(scale_factor=factors, mode="nearest")
                                            if factors != (1, 1) else None)

    @staticmethod
    def _weights(entry, step):
        """The weights a node uses at `step`: its own, or (untied) the step's, NAME.stepT for T >= 1."""
        return f"{entry['name']}.step{step}" if entry.get("untied") and step > 0 else entry["name"]

    def _shape(self, name):
        return list(self._graph["nodes"][self._index[name]]["shape"])

    def _output_shape(self, entry, shape):
        """What torch makes of one sample of `shape` at node `entry`."""
        op = entry["op"]
        if op == "linear":
            return [self._module_of[self._weights(entry, 0)].out_features]
        if op == "flatten":
            return [math.prod(shape)]
        if op in ("conv2d", "max-pool2d"):
            with torch.no_grad():
                return list(self._spatial(entry, 0, torch.zeros(1, *shape)).shape[1:])
        return shape

    def _spatial(self, entry, step, x):
        if entry["op"] == "conv2d":
            return self._module_of[self._weights(entry, step)](x)
        return F.max_pool2d(x, entry["kernel"], entry["stride"])

    def _add_module(self, name, module):
        """`module` registered under the dotted name, so its parameters are NAME.weight and NAME.bias."""
        *path, last = name.split(".")
        parent = self
        for part in path:
            if not hasattr(parent, part):
                parent.add_module(part, torch.nn.Module())
            parent = getattr(parent, part)
            if not isinstance(parent, torch.nn.Module):
                raise ValueError(f"{name!r} collides with an attribute of torch.nn.Module")
        parent.add_module(last, module)
        self._module_of[name] = getattr(parent, last)

    def _feedback(self, e, v):
        """fb_e of the source's value v [B, source shape], as [B, target shape]."""
        module = self._module_of[e["name"]]
        if e["name"] not in self._upsample_of:  # linear: on the flattened values
            return module(v.flatten(1)).reshape(v.shape[0], *self._shape(e["target"]))
        upsample = self._upsample_of[e["name"]]
        return module(upsample(v) if upsample is not None else v)

    def forward(self, inputs, masks):
        """inputs: input node name -> [S, B, shape]; masks: (dropout node, step) -> [B, shape].
        Returns the logits [B, classes] of each readout step."""
        nodes, schedule = self._graph["nodes"], self._schedule
        value = [{} for _ in range(self._graph["steps"])]     # v: what edges send
        consumed = [{} for _ in range(self._graph["steps"])]  # u: what consumers read
        for step in range(self._graph["steps"]):
            for n, entry in enumerate(nodes):
                op, name = entry["op"], entry["name"]
                if op == "input":
                    v = inputs[name][step]
                else:
                    x = consumed[step][self._index[entry["inputs"][0]]]
                    if op == "linear":
                        v = self._module_of[self._weights(entry, step)](x.flatten(1))
                    elif op in ("conv2d", "max-pool2d"):
                        v = self._spatial(entry, step, x)
                    elif op == "flatten":
                        v = x.flatten(1)
                    elif op == "relu":
                        v = F.relu(x)
                    else:  # dropout: fbnet's mask already holds 0 or 1 / (1 - p), torch.nn.Dropout's scaling;
                        # where fbnet did not run the node (no mask) its value must not reach the loss
                        v = x * masks[(name, step)] if entry["dropout"] > 0 and (name, step) in masks else x
                u = v
                if schedule.combines_at(step, n):
                    for e in schedule.edges_into[n]:
                        if e["combine"] == "gain":
                            if step > 0:  # fb = 0 at step 0 leaves u as it is
                                u = u * (1 + e["alpha"] * self._feedback(e, value[step - 1][self._index[e["source"]]]))
                            continue
                        keep = 1 - e["alpha"] if e["combine"] == "mix" else 1
                        u = keep * u
                        if step > 0:
                            u = u + e["alpha"] * self._feedback(e, value[step - 1][self._index[e["source"]]])
                value[step][n], consumed[step][n] = v, u
        readout = self._index[self._graph["readout"]]
        return [value[step][readout] for step in schedule.readout_steps]


# --- Running a case. ---

def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (header_size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_size])
    metadata = header.pop("__metadata__", {})
    base = 8 + header_size
    tensors = {}
    for name, entry in header.items():
        assert entry["dtype"] == "F32", name
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[base + begin:base + end], dtype="<f4").reshape(entry["shape"])
    return tensors, metadata


def relative_error(ours, theirs):
    theirs = theirs.detach().double().numpy()
    return float(np.max(np.abs(ours.astype(np.float64) - theirs)) / max(np.max(np.abs(theirs)), 1e-30))


def graph_of_case(fbnet, source):
    """The case's graph JSON: a preset as `fbnet info --graph-json` describes it, or the hand-written one."""
    if isinstance(source, dict):
        return source
    info = [fbnet, "info", *source, "--dataset", "emnist-letters", "--graph-json"]
    return json.loads(subprocess.run(info, check=True, capture_output=True, text=True).stdout)


def run_graph_case(peer_case, graph, settings, folder):
    graph_path, out = os.path.join(folder, "graph.json"), os.path.join(folder, "case.safetensors")
    with open(graph_path, "w") as f:
        json.dump(graph, f)
    flags = [item for key, value in settings.items() for item in (f"--{key.replace('_', '-')}", str(value))]
    subprocess.run([peer_case, "--graph", graph_path, *flags, "--out", out], check=True)
    return read_safetensors(out)


def mask_key(tensor_name):
    """"mask.K.NODE.STEP" -> (K, NODE, STEP); node names may hold dots."""
    batch, rest = tensor_name[len("mask."):].split(".", 1)
    node_name, step = rest.rsplit(".", 1)
    return int(batch), node_name, int(step)


def check_masks(case, graph, tensors, rows):
    """Each mask holds only 0 and 1 / (1 - p) and drops p of the units, within 5 standard deviations."""
    for entry in graph["nodes"]:
        if entry["op"] != "dropout" or entry["dropout"] == 0:
            continue
        p = entry["dropout"]
        masks = np.stack([tensors[name] for name in tensors
                          if name.startswith("mask.") and mask_key(name)[1] == entry["name"]])
        kept = np.float32(1 / (1 - p))
        bad_values = np.count_nonzero((masks != 0) & (masks != kept))
        dropped = np.count_nonzero(masks == 0) / masks.size
        deviation = abs(dropped - p) / math.sqrt(p * (1 - p) / masks.size)
        rows.append((case, "", f"masks of {entry['name']}: values not 0 or 1/(1-p)", float(bad_values), 0.0))
        rows.append((case, "", f"masks of {entry['name']}: dropped {dropped:.3f} vs p, in std devs", deviation, 5.0))


def torch_optimizer(params, training):
    """fbnet's --optimizer and its settings as the torch.optim optimiser they name."""
    kind, lr, decay = training["optimizer"], training["learning-rate"], training["weight-decay"]
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=training["momentum"], nesterov=training["nesterov"],
                               weight_decay=decay)
    adam = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
    return adam(params, lr=lr, betas=(training["adam-beta1"], training["adam-beta2"]), eps=training["adam-epsilon"],
                weight_decay=decay)


def torch_scheduler(optimizer, training):
    """fbnet's --lr-schedule after --warmup-epochs as PyTorch's schedulers, stepped once per epoch."""
    kind, warmup, epochs = training["lr-schedule"], training["warmup-epochs"], training["epochs"]
    schedulers = {
        "constant": lambda: torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0),
        "step": lambda: torch.optim.lr_scheduler.StepLR(optimizer, step_size=training["lr-step-epochs"],
                                                        gamma=training["lr-gamma"]),
        "cosine": lambda: torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs - warmup),
    }
    if warmup == 0:
        return schedulers[kind]()
    # SequentialLR steps its second scheduler with an epoch argument at the milestone, which PyTorch warns of.
    warnings.filterwarnings("ignore", message=re.escape("The epoch parameter in `scheduler.step()`"))
    warm = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1 / (warmup + 1), total_iters=warmup)
    return torch.optim.lr_scheduler.SequentialLR(optimizer, [warm, schedulers[kind]()], milestones=[warmup])


def check_case(case, graph, tensors, meta, dtype, rows):
    """Appends the case's checks at dtype to rows; returns torch's value of each quantity, by the
    row's name without its step (an update's value: its list of per-step updates), as float64."""
    seen = {}
    model = GraphModel(graph).to(dtype)
    names = [n[len("initial."):] for n in tensors if n.startswith("initial.")]
    params = dict(model.named_parameters())
    if sorted(params) != sorted(names):
        raise AssertionError(f"{case}: fbnet's parameters {sorted(names)} are not the model's {sorted(params)}")
    frozen_nodes = [n for n in meta["frozen"].split(",") if n]
    frozen = {n for n in names if n.rsplit(".", 1)[0] in frozen_nodes}
    with torch.no_grad():
        for n, p in params.items():
            p.copy_(torch.tensor(tensors["initial." + n]))
            p.requires_grad_(n not in frozen)
    training = json.loads(meta["training"])
    optimizer = torch_optimizer([params[n] for n in names if n not in frozen], training)
    scheduler = torch_scheduler(optimizer, training)
    batches, batches_per_epoch = int(meta["batches"]), int(meta["batches_per_epoch"])
    inputs_of = [e["name"] for e in graph["nodes"] if e["op"] == "input"]
    worst_update = {n: (-1.0, 0) for n in names}  # (relative error, step)
    for k in range(batches):
        inputs = {n: torch.tensor(tensors[f"input.{k}.{n}"], dtype=dtype) for n in inputs_of}
        masks = {mask_key(name)[1:]: torch.tensor(tensors[name], dtype=dtype)
                 for name in tensors if name.startswith("mask.") and mask_key(name)[0] == k}
        labels = torch.tensor(tensors[f"labels.{k}"].astype(np.int64))
        before = {n: p.detach().double().clone() for n, p in params.items()}
        optimizer.zero_grad()
        logits = model(inputs, masks)
        # Mean NLL over the batch, then over readout steps.
        loss = torch.stack([F.nll_loss(F.log_softmax(step_logits, dim=1), labels[r])
                            for r, step_logits in enumerate(logits)]).mean()
        loss.backward()
        if k == 0:
            for r, step_logits in enumerate(logits):
                what = f"logits of readout {r}"
                seen[what] = step_logits.detach().double().numpy()
                rows.append((case, dtype, what, relative_error(tensors[f"fbnet.logits.{r}"], step_logits), TOLERANCE))
            seen["loss"] = loss.detach().double().reshape(1).numpy()
            rows.append((case, dtype, "loss", relative_error(np.array([float(meta["loss"])]), loss.reshape(1)), TOLERANCE))
            for n in names:
                grad = params[n].grad if params[n].grad is not None else torch.zeros_like(params[n])
                what = f"grad {n}{' (frozen)' if n in frozen else ''}"
                seen[what] = grad.detach().double().numpy()
                rows.append((case, dtype, what, relative_error(tensors["fbnet.grad." + n], grad), TOLERANCE))
        optimizer.step()
        if (k + 1) % batches_per_epoch == 0:
            scheduler.step()
        for n in names:
            ours_before = tensors[f"initial.{n}"] if k == 0 else tensors[f"fbnet.after.{k}.{n}"]
            ours = tensors[f"fbnet.after.{k + 1}.{n}"].astype(np.float64) - ours_before.astype(np.float64)
            theirs = params[n].detach().double() - before[n]
            seen.setdefault(f"update {n}{' (frozen)' if n in frozen else ''}", []).append(theirs.numpy())
            error = relative_error(ours, theirs)
            if not math.isnan(worst_update[n][0]) and not error <= worst_update[n][0]:  # a NaN is the worst
                worst_update[n] = (error, k + 1)
    for n in names:
        what = f"after {batches} steps {n}"
        seen[what] = params[n].detach().double().numpy()
        rows.append((case, dtype, what, relative_error(tensors[f"fbnet.after.{batches}.{n}"], params[n]), TOLERANCE))
    for n, (error, step) in worst_update.items():
        rows.append((case, dtype, f"update {n}{' (frozen)' if n in frozen else ''} (worst: step {step})", error,
                     UPDATE_TOLERANCE))
    return seen


def peer_drift(peer, reference):
    """How far torch float32's value of a quantity is from torch float64's, as relative_error measures it
    (an update: its worst step)."""
    if isinstance(reference, list):
        return max((peer_drift(p, r) for p, r in zip(peer, reference)), key=lambda e: (math.isnan(e), e))
    return relative_error(peer, torch.from_numpy(reference))


def excuse_parted_trajectories(case, rows, seen):
    """Marks the case's failed rows on which torch float32 and float64 are further apart than the
    tolerance while fbnet agrees with the other of the two, as long as fbnet follows one and the same
    of them on every such row of the case (a trajectory parts once). Returns {row index: their distance}."""
    def key(what):
        return what.split(" (worst: step")[0]
    passed = {(dtype, key(what)) for c, dtype, what, error, tolerance in rows if c == case and error <= tolerance}
    other = {torch.float32: torch.float64, torch.float64: torch.float32}
    excused = {}
    for i, (c, dtype, what, error, tolerance) in enumerate(rows):
        if c != case or dtype not in other or error <= tolerance or (other[dtype], key(what)) not in passed:
            continue
        drift = peer_drift(seen[torch.float32][key(what)], seen[torch.float64][key(what)])
        if drift > tolerance:
            excused[i] = drift
    followed = {other[rows[i][1]] for i in excused}
    return excused if len(followed) <= 1 else {}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer-case", required=True, help="path of the fbnet_graph_case binary")
    parser.add_argument("--fbnet", required=True, help="path of the fbnet binary (for the presets' graphs)")
    parser.add_argument("--case", action="append", choices=list(CASES), help="run only this case (repeatable)")
    parser.add_argument("--verbose", action="store_true", help="print every check, not only the failed ones")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    excused = {}  # row index: how far torch float32 and float64 are apart on that quantity
    engines = set()  # fbnet's product engine in each case (FBNET_ENGINE, or the build's default)
    version = subprocess.run([args.fbnet, "--version"], capture_output=True, text=True, check=True).stdout
    for case in args.case or CASES:
        source, settings = CASES[case]
        if "conv_engine" in settings and "oneDNN" not in version:
            print(f"{case}: skipped, this fbnet was built without oneDNN (its convolutions are im2col's)")
            continue
        graph = graph_of_case(args.fbnet, source)
        with tempfile.TemporaryDirectory() as folder:
            tensors, meta = run_graph_case(args.peer_case, graph, settings, folder)
        engines.add(json.loads(meta["training"])["engine"])
        ran = json.loads(meta["graph"])  # the graph fbnet ran, as it wrote it back
        check_masks(case, ran, tensors, rows)
        seen = {dtype: check_case(case, ran, tensors, meta, dtype, rows) for dtype in (torch.float32, torch.float64)}
        excused.update(excuse_parted_trajectories(case, rows, seen))

    def torch_name(dtype):
        return str(dtype).replace("torch.", "")

    width = max(len(case) for case, *_ in rows)
    failed = [i for i, row in enumerate(rows) if not row[3] <= row[4] and i not in excused]  # a NaN fails
    shown = range(len(rows)) if args.verbose else sorted(failed + list(excused))
    if shown:
        print(f"{'case':<{width}} {'torch':<8} {'quantity':<56} relative error (tolerance)")
    for i in shown:
        case, dtype, what, error, tolerance = rows[i]
        verdict = "  FAIL" if i in failed else ""
        if i in excused:
            verdict = f"  not asserted: torch float32 and float64 are {excused[i]:.3e} apart, fbnet matches the other"
        print(f"{case:<{width}} {torch_name(dtype):<8} {what:<56} {error:.3e} ({tolerance:g}){verdict}")
    print(f"\nfbnet's product engine: {', '.join(sorted(engines))} (float64 cases: OpenBLAS)")
    print(f"worst relative error per case: logits, loss, gradients and weights (tolerance {TOLERANCE:g}); "
          f"updates (tolerance {UPDATE_TOLERANCE:g})")
    for case in dict.fromkeys(row[0] for row in rows):
        for dtype in (torch.float32, torch.float64):
            cells = []
            for is_update in (False, True):
                # NaN sorts as the worst.
                error, what = max(((e, w) for c, d, w, e, _ in rows
                                   if c == case and d == dtype and w.startswith("update") == is_update),
                                  key=lambda row: math.inf if math.isnan(row[0]) else row[0])
                cells.append(f"{error:.3e} ({what})")
            print(f"{case:<{width}} {torch_name(dtype):<8} {cells[0]:<48} {cells[1]}")
    for kind, is_update in (("updates", True), ("logits, loss, gradients and weights", False)):
        for dtype in (torch.float32, torch.float64):
            worst = max(error for _, d, what, error, _ in rows if d == dtype and what.startswith("update") == is_update)
            print(f"worst error of the {kind} against torch {torch_name(dtype)}: {worst:.3e}")
    print(f"{len(rows) - len(failed) - len(excused)} passed, {len(failed)} failed, {len(excused)} not asserted "
          "(torch float32 and float64 parted, fbnet matches one)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
