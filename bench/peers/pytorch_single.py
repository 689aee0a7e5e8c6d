#!/usr/bin/env python3
"""PyTorch (Python) on the job of bench/single_rank.cpp, on one device.

The same model as Cohort's `mlp` in cohort-bench-single (784-256-256-10, ReLU,
no dropout), SGD with learning rate 0.05 and momentum 0.9, cross entropy, the
same batch, one torch thread; the data set stays on the host as in the C++
loops, and each batch is gathered with index_select and moved to the device.
bf16 runs the forward pass and the loss under torch.autocast, as Cohort does.
The loss is read back (.item()) every step, as Cohort's metrics do.

Data: Fashion-MNIST's training set where it is installed
(/usr/share/datasets/fashion-mnist), else random data of its shape
(60,000 x 1x28x28, 10 classes); the speed of a step does not depend on the values.

    python3 bench/peers/pytorch_single.py --device cuda --precision bf16 --batch 64

prints one JSON line:
    {"system": "pytorch", "samples_per_second": ..., ...}
with the median over --repeats epochs after one untimed epoch.
"""

import argparse
import gzip
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530  # framework/src/data/fashion_mnist.cpp


def read_idx(path, dims):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    shape = [int.from_bytes(raw[4 + 4 * d:8 + 4 * d], "big") for d in range(dims)]
    return torch.frombuffer(bytearray(raw[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def load_data(choice):
    images = os.path.join(FASHION_MNIST, "train-images-idx3-ubyte.gz")
    if choice == "fashion-mnist" or (choice == "auto" and os.path.exists(images)):
        data = read_idx(images, 3).to(torch.float32).div_(255.0).sub_(MEAN).div_(STD).unsqueeze(1).contiguous()
        labels = read_idx(os.path.join(FASHION_MNIST, "train-labels-idx1-ubyte.gz"), 1).to(torch.int64)
        return data, labels, "fashion-mnist"
    generator = torch.Generator().manual_seed(1234)
    return (torch.randn(60000, 1, 28, 28, generator=generator),
            torch.randint(0, 10, (60000,), generator=generator), "synthetic")


def make_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                         nn.Linear(256, 10))


def epoch(data, labels, batch, seed, device, dtype):
    model = make_model().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    order = torch.randperm(data.shape[0], generator=torch.Generator().manual_seed(seed))
    start = time.perf_counter()
    for first in range(0, data.shape[0], batch):
        indices = order[first:first + batch]
        inputs = data.index_select(0, indices).to(device, non_blocking=True)
        target = labels.index_select(0, indices).to(device, non_blocking=True)
        optimizer.zero_grad()
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = loss_fn(model(inputs), target)
        loss.backward()
        optimizer.step()
        loss.item()
    return data.shape[0] / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data", choices=["auto", "fashion-mnist", "synthetic"], default="auto")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            sys.exit(f"--device {args.device}: no CUDA device here")
        if device.index is None:
            device = torch.device("cuda", 0)
    dtype = torch.bfloat16 if args.precision == "bf16" else None
    data, labels, source = load_data(args.data)
    epoch(data, labels, args.batch, 99, device, dtype)  # warm-up
    rates = [epoch(data, labels, args.batch, r, device, dtype) for r in range(args.repeats)]
    print(json.dumps({"system": "pytorch", "benchmark": "single_rank_mlp", "device": str(device),
                      "precision": args.precision, "data": source, "threads": args.threads, "batch": args.batch,
                      "repeats": args.repeats, "torch": torch.__version__,
                      "samples_per_second": statistics.median(rates)}))


if __name__ == "__main__":
    main()
