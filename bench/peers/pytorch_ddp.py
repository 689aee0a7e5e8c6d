#!/usr/bin/env python3
"""PyTorch's own DistributedDataParallel on the job Cohort's DDP benchmark runs.

The peer for bench/ddp.cpp and bench/run_ddp_benchmarks.sh: the same
Fashion-MNIST data (gzip IDX files, scaled to [0, 1] and normalised with mean
0.2860 and std 0.3530 as framework/src/data/fashion_mnist.cpp does), the same
models as Cohort's `mlp` and `cnn` with the settings of configs/fmnist_mlp.json
and configs/fmnist_cnn.json, the same per-rank batch (64), one torch thread per
rank, and PyTorch's usual input pipeline: torch.utils.data.DataLoader over a
TensorDataset with a DistributedSampler and num_workers=0 (PyTorch's default:
batches are collated from single examples in the training process).

Run it under Open MPI, which only starts the processes; the gloo process group
does the communication:

    mpirun -np 2 python3 bench/peers/pytorch_ddp.py --model mlp

Rank 0 prints one JSON line:
    {"system": "pytorch_ddp", "model": "mlp", "samples_per_second": ..., ...}
where samples_per_second is global (all ranks) and is the median over the
timed passes; a pass is a whole epoch of this rank's shard (--steps 0) or a
fixed number of steps, after --warmup-steps untimed steps.
"""

import argparse
import gzip
import json
import os
import statistics
import sys
import time

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.2860, 0.3530  # framework/src/data/fashion_mnist.cpp


def read_idx(path, dims):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    if magic != (0x08 << 8) | dims:
        sys.exit(f"{path}: not an IDX file of unsigned bytes with {dims} dimension(s)")
    shape = [int.from_bytes(raw[4 + 4 * d:8 + 4 * d], "big") for d in range(dims)]
    header = 4 + 4 * dims
    return torch.frombuffer(bytearray(raw[header:]), dtype=torch.uint8).reshape(shape)


def load_fashion_mnist(directory):
    images = read_idx(os.path.join(directory, "train-images-idx3-ubyte.gz"), 3)
    labels = read_idx(os.path.join(directory, "train-labels-idx1-ubyte.gz"), 1)
    data = images.to(torch.float32).div_(255.0).sub_(MEAN).div_(STD).unsqueeze(1).contiguous()
    return data, labels.to(torch.int64)


def make_model(name):
    """Cohort's models (framework/src/models/*.cpp) with the configs' settings."""
    if name == "mlp":  # configs/fmnist_mlp.json: hidden [256, 256], dropout 0.1
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.1),
            nn.Linear(256, 256), nn.ReLU(), nn.Dropout(0.1),
            nn.Linear(256, 10))
    if name == "cnn":  # configs/fmnist_cnn.json: channels [32, 64], hidden 128, dropout 0.25
        return nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25),
            nn.Linear(128, 10))
    raise ValueError(name)


def make_optimizer(name, parameters):
    """The configs' optimizers, without their learning-rate schedules (Cohort's side runs none either)."""
    if name == "mlp":
        return torch.optim.SGD(parameters, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)
    return torch.optim.AdamW(parameters, lr=1e-3, weight_decay=0.01)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    parser.add_argument("--batch", type=int, default=64, help="per-rank batch size")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per rank")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes")
    parser.add_argument("--steps", type=int, default=0, help="steps per timed pass (0 = a whole epoch of the shard)")
    parser.add_argument("--warmup-steps", type=int, default=20)
    parser.add_argument("--data", default=FASHION_MNIST)
    parser.add_argument("--port", type=int, default=29517, help="MASTER_PORT when not set in the environment")
    args = parser.parse_args()

    # Open MPI starts the processes; torch.distributed takes its usual variables.
    os.environ.setdefault("RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "0"))
    os.environ.setdefault("WORLD_SIZE", os.environ.get("OMPI_COMM_WORLD_SIZE", "1"))
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", str(args.port))
    torch.set_num_threads(args.threads)
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()

    torch.manual_seed(0)
    data, targets = load_fashion_mnist(args.data)
    dataset = TensorDataset(data, targets)
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=0)
    loader = DataLoader(dataset, batch_size=args.batch, sampler=sampler, num_workers=0)

    model = DistributedDataParallel(make_model(args.model))  # CPU: no device_ids; bucket_cap_mb 25
    optimizer = make_optimizer(args.model, model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    model.train()

    def run(epoch, max_steps):
        """Trains max_steps steps (0 = the whole shard) from pass `epoch`; returns (samples, loss sum)."""
        sampler.set_epoch(epoch)
        samples, steps, total_loss = 0, 0, 0.0
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            total_loss += loss.item()  # the usual per-step read-back for logging
            samples += x.size(0)
            steps += 1
            if max_steps and steps == max_steps:
                break
        return samples, total_loss

    run(1000, args.warmup_steps)
    rates = []
    for r in range(args.repeats):
        dist.barrier()
        start = time.perf_counter()
        samples, _ = run(r, args.steps)
        seconds = time.perf_counter() - start
        # Global rate: all ranks' samples over the slowest rank's time.
        summary = torch.tensor([float(samples), seconds], dtype=torch.float64)
        total = summary.clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        dist.all_reduce(summary, op=dist.ReduceOp.MAX)
        rates.append(total[0].item() / summary[1].item())

    if rank == 0:
        print(json.dumps({
            "system": "pytorch_ddp", "model": args.model, "ranks": world, "batch_per_rank": args.batch,
            "threads_per_rank": args.threads, "steps_per_pass": args.steps, "repeats": args.repeats,
            "num_workers": 0, "torch": torch.__version__,
            "samples_per_second": statistics.median(rates),
            "all_samples_per_second": [round(x, 1) for x in rates]}), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
