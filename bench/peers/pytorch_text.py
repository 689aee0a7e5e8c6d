#!/usr/bin/env python3
"""PyTorch (Python) on the job of bench/text_models.cpp: text models training
on padded batches shaped like the fortunes corpus.

The same data sizes as cohort-bench-text: 20,000 words, texts of 10 to 120
tokens (uniform), 4 classes, random ids, each batch padded to its longest text
with the pad id 1 and carried with its lengths; the same models:

  embedding_bag  nn.EmbeddingBag(20000, 64, mode="mean") over the flat ids and
                 offsets of each batch (built from the lengths with
                 masked_select and cumsum, as cohort::text::to_bag does), then
                 nn.Linear(64, 4); initialised as the AG_News tutorial does.
  lstm           nn.Embedding(20000, 64, padding_idx=1), nn.LSTM(64, 128,
                 batch_first=True) over pack_padded_sequence(enforce_sorted=
                 False), nn.Linear(128, 4) on the last hidden state.

SGD with learning rate 0.1, cross entropy, the loss read back (.item()) every
step as Cohort's metrics do, one torch thread (--threads). Under mpirun the
ranks train with DistributedDataParallel over gloo, each on its share of the
global batch (--batch), and samples_per_second is global.

    python3 bench/peers/pytorch_text.py --model lstm --examples 3200

prints one JSON line:
    {"system": "pytorch", "model": "lstm", "samples_per_second": ..., ...}
with the median over --repeats epochs after one untimed epoch.
"""

import argparse
import json
import os
import statistics
import time

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence

VOCAB, CLASSES, SHORTEST, LONGEST, PAD = 20000, 4, 10, 120, 1


def make_data(size):
    generator = torch.Generator().manual_seed(1234)
    lengths = torch.randint(SHORTEST, LONGEST + 1, (size,), generator=generator)
    tokens = torch.randint(2, VOCAB, (size, LONGEST), generator=generator)
    tokens.masked_fill_(torch.arange(LONGEST).unsqueeze(0) >= lengths.unsqueeze(1), PAD)
    targets = torch.randint(0, CLASSES, (size,), generator=generator)
    return tokens, lengths, targets


class BagClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.EmbeddingBag(VOCAB, 64, mode="mean")
        self.fc = nn.Linear(64, CLASSES)
        self.embedding.weight.data.uniform_(-0.5, 0.5)
        self.fc.weight.data.uniform_(-0.5, 0.5)
        self.fc.bias.data.zero_()

    def forward(self, tokens, lengths):
        valid = torch.arange(tokens.size(1)).unsqueeze(0) < lengths.unsqueeze(1)
        ids = tokens.masked_select(valid)
        offsets = lengths.cumsum(0) - lengths
        return self.fc(self.embedding(ids, offsets))


class LstmClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, 64, padding_idx=PAD)
        self.lstm = nn.LSTM(64, 128, batch_first=True)
        self.fc = nn.Linear(128, CLASSES)

    def forward(self, tokens, lengths):
        packed = pack_padded_sequence(self.embedding(tokens), lengths, batch_first=True, enforce_sorted=False)
        _, (hidden, _) = self.lstm(packed)
        return self.fc(hidden[-1])


def epoch(model_name, data, batch, seed, rank, ranks):
    tokens, lengths, targets = data
    torch.manual_seed(0)
    model = BagClassifier() if model_name == "embedding_bag" else LstmClassifier()
    if ranks > 1:
        model = nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    order = torch.randperm(tokens.size(0), generator=torch.Generator().manual_seed(seed))
    local = batch // ranks
    samples = 0
    start = time.perf_counter()
    for first in range(0, tokens.size(0) - batch + 1, batch):
        indices = order[first + rank * local:first + (rank + 1) * local]
        text_lengths = lengths.index_select(0, indices)
        text = tokens.index_select(0, indices)[:, :int(text_lengths.max())]
        target = targets.index_select(0, indices)
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(text, text_lengths), target)
        loss.backward()
        optimizer.step()
        loss.item()
        samples += batch
    return samples / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=["embedding_bag", "lstm"], default="embedding_bag")
    parser.add_argument("--examples", type=int, default=12800)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64, help="over all ranks")
    parser.add_argument("--port", type=int, default=29531, help="MASTER_PORT when not set in the environment")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ranks = int(os.environ.get("OMPI_COMM_WORLD_SIZE", "1"))
    rank = int(os.environ.get("OMPI_COMM_WORLD_RANK", "0"))
    if ranks > 1:
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(args.port))
        dist.init_process_group("gloo", rank=rank, world_size=ranks)
    data = make_data(args.examples)
    epoch(args.model, data, args.batch, 99, rank, ranks)  # warm-up
    rates = [epoch(args.model, data, args.batch, r, rank, ranks) for r in range(args.repeats)]
    if rank == 0:
        print(json.dumps({"system": "pytorch", "model": args.model, "ranks": ranks, "threads": args.threads,
                          "batch": args.batch, "examples": args.examples, "torch": torch.__version__,
                          "samples_per_second": statistics.median(rates), "runs": rates}), flush=True)
    if ranks > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
