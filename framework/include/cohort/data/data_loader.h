#pragma once
// Batches from a Dataset, in an order fixed by seed and epoch, built ahead by
// worker threads and handed out in order.

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <torch/arg.h>

#include "cohort/data/dataset.h"

namespace cohort::data {

/// What a sharded loader does when the examples do not split evenly over the
/// replicas. Training needs every rank to take the same number of steps, so it
/// pads (repeating examples from the start of the epoch's order) or drops the
/// rest; evaluation can take uneven shards, counting each example once.
enum class ShardPolicy { kPad, kDrop, kUneven };

struct DataLoaderOptions {
  TORCH_ARG(int64_t, batch_size) = 64;
  /// Reshuffle every epoch (from seed and epoch), or keep the dataset's order.
  TORCH_ARG(bool, shuffle) = true;
  /// Drop a last batch smaller than batch_size.
  TORCH_ARG(bool, drop_last) = false;
  /// Threads that build batches ahead; 0 builds them on the calling thread.
  TORCH_ARG(int64_t, num_workers) = 0;
  /// Batches each worker may have ready ahead of the consumer.
  TORCH_ARG(int64_t, prefetch) = 2;
  TORCH_ARG(uint64_t, seed) = 0;
  /// Distributed sampling: the epoch's order (the same on every rank) is dealt
  /// out round-robin to `num_replicas` ranks and this loader keeps shard
  /// `rank`. Dealt round-robin, batch j of every rank together is exactly batch
  /// j of one process with num_replicas times the batch size.
  TORCH_ARG(int64_t, num_replicas) = 1;
  TORCH_ARG(int64_t, rank) = 0;
  TORCH_ARG(ShardPolicy, shard_policy) = ShardPolicy::kPad;
};

/// One pass over the data. Hands batches out in order with next(); its worker
/// threads stop when it is destroyed, even half-way through.
class Epoch {
 public:
  /// Batches [first_batch, num_batches) of `order`; those before first_batch
  /// are never built (a run resumed in the middle of an epoch). When the
  /// system cannot start all options.num_workers() threads, those started are
  /// stopped and cohort::InputError says how many could start.
  Epoch(std::shared_ptr<const Dataset> dataset, torch::Tensor order, const DataLoaderOptions& options,
        int64_t num_batches, int64_t first_batch = 0);
  ~Epoch();
  Epoch(const Epoch&) = delete;
  Epoch& operator=(const Epoch&) = delete;

  /// The next batch, or nothing at the end of the epoch. Rethrows an error
  /// raised while building it.
  std::optional<Batch> next();
  int64_t num_batches() const { return num_batches_; }

 private:
  Batch build(int64_t index) const;
  void work();
  /// Tells the workers to stop and joins them.
  void stop_workers();

  std::shared_ptr<const Dataset> dataset_;
  torch::Tensor order_;
  int64_t batch_size_;
  int64_t num_batches_;
  int64_t capacity_;

  std::mutex mutex_;
  std::condition_variable batch_ready_;
  std::condition_variable space_free_;
  std::map<int64_t, Batch> ready_;
  int64_t next_to_build_ = 0;
  int64_t next_to_hand_out_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> workers_;
};

/// Splits a dataset into batches, epoch after epoch.
class DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options);

  /// Starts pass number `epoch` (0-based). With shuffling, its order depends
  /// on the seed and `epoch` alone, so a resumed run sees the same batches.
  /// `first_batch` > 0 starts the pass there, as if the batches before it had
  /// been handed out (without building them): how a run resumed in the middle
  /// of an epoch sees exactly the batches it had not trained on yet.
  std::unique_ptr<Epoch> epoch(int64_t epoch, int64_t first_batch = 0) const;

  /// Batches and examples of one epoch on this rank.
  int64_t num_batches() const;
  int64_t num_samples() const;
  const Dataset& dataset() const { return *dataset_; }
  const std::shared_ptr<const Dataset>& shared_dataset() const { return dataset_; }
  const DataLoaderOptions& options() const { return options_; }

 private:
  /// Examples in this rank's shard, before batching.
  int64_t shard_size() const;
  /// This rank's shard of the epoch's order of the whole dataset.
  torch::Tensor shard(const torch::Tensor& order) const;

  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
};

}  // namespace cohort::data
