#include "cohort/data/data_loader.h"

#include <algorithm>
#include <system_error>

#include <fmt/format.h>

#include <torch/torch.h>

#include "cohort/core/error.h"

namespace cohort::data {
namespace {

/// splitmix64: turns (seed, epoch) into well-spread, unrelated shuffle seeds.
uint64_t mix(uint64_t seed, uint64_t epoch) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (epoch + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

Epoch::Epoch(std::shared_ptr<const Dataset> dataset, torch::Tensor order, const DataLoaderOptions& options,
             int64_t num_batches, int64_t first_batch)
    : dataset_(std::move(dataset)),
      order_(std::move(order)),
      batch_size_(options.batch_size()),
      num_batches_(num_batches),
      capacity_(std::max<int64_t>(1, options.num_workers() * options.prefetch())),
      next_to_build_(std::clamp<int64_t>(first_batch, 0, num_batches)),
      next_to_hand_out_(next_to_build_) {
  workers_.reserve(size_t(options.num_workers()));
  try {
    for (int64_t i = 0; i < options.num_workers(); ++i) workers_.emplace_back([this] { work(); });
  } catch (const std::system_error& error) {
    // The system refused a thread (memory for its stack, a process limit):
    // the ones already running must be joined, or their destructors terminate.
    const auto started = workers_.size();
    stop_workers();
    throw InputError(fmt::format("cannot start {} data-loader worker threads: the system refused one after {} "
                                 "({}); lower loader.num_workers.",
                                 options.num_workers(), started, error.code().message()));
  }
}

Epoch::~Epoch() { stop_workers(); }

void Epoch::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  space_free_.notify_all();
  for (auto& worker : workers_) worker.join();
  workers_.clear();
}

Batch Epoch::build(int64_t index) const {
  const int64_t start = index * batch_size_;
  const int64_t end = std::min(start + batch_size_, order_.size(0));
  return dataset_->get_batch(order_.slice(0, start, end));
}

void Epoch::work() {
  while (true) {
    int64_t index = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      space_free_.wait(lock, [this] {
        return stopping_ || next_to_build_ >= num_batches_ || next_to_build_ < next_to_hand_out_ + capacity_;
      });
      if (stopping_ || next_to_build_ >= num_batches_) return;
      index = next_to_build_++;
    }
    Batch batch;
    std::exception_ptr error;
    try {
      batch = build(index);
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (error && !error_) error_ = error;
      ready_.emplace(index, std::move(batch));
    }
    batch_ready_.notify_all();
  }
}

std::optional<Batch> Epoch::next() {
  if (next_to_hand_out_ >= num_batches_) return std::nullopt;
  if (workers_.empty()) return build(next_to_hand_out_++);
  std::unique_lock<std::mutex> lock(mutex_);
  batch_ready_.wait(lock, [this] { return error_ || ready_.count(next_to_hand_out_) > 0; });
  if (error_) std::rethrow_exception(error_);
  auto found = ready_.find(next_to_hand_out_);
  Batch batch = std::move(found->second);
  ready_.erase(found);
  ++next_to_hand_out_;
  lock.unlock();
  space_free_.notify_all();
  return batch;
}

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
  TORCH_CHECK(dataset_, "DataLoader needs a dataset");
  TORCH_CHECK(options_.batch_size() > 0, "DataLoader batch_size must be positive");
  TORCH_CHECK(options_.num_replicas() > 0 && options_.rank() >= 0 && options_.rank() < options_.num_replicas(),
              "DataLoader rank must be in [0, num_replicas)");
}

int64_t DataLoader::shard_size() const {
  const int64_t n = dataset_->size(), replicas = options_.num_replicas();
  switch (options_.shard_policy()) {
    case ShardPolicy::kPad: return (n + replicas - 1) / replicas;
    case ShardPolicy::kDrop: return n / replicas;
    case ShardPolicy::kUneven: break;
  }
  return (n - options_.rank() + replicas - 1) / replicas;
}

torch::Tensor DataLoader::shard(const torch::Tensor& order) const {
  const int64_t replicas = options_.num_replicas();
  if (replicas == 1) return order;
  const int64_t n = order.size(0);
  torch::Tensor dealt = order;
  if (options_.shard_policy() == ShardPolicy::kPad && n % replicas != 0) {
    const int64_t missing = shard_size() * replicas - n;
    dealt = torch::cat({order, order.repeat((missing + n - 1) / n).slice(0, 0, missing)});
  }
  const int64_t end = options_.shard_policy() == ShardPolicy::kUneven ? n : shard_size() * replicas;
  return dealt.slice(0, options_.rank(), end, replicas).contiguous();
}

int64_t DataLoader::num_samples() const {
  const int64_t n = shard_size();
  return options_.drop_last() ? (n / options_.batch_size()) * options_.batch_size() : n;
}

int64_t DataLoader::num_batches() const {
  const int64_t n = shard_size(), b = options_.batch_size();
  return options_.drop_last() ? n / b : (n + b - 1) / b;
}

std::unique_ptr<Epoch> DataLoader::epoch(int64_t epoch, int64_t first_batch) const {
  const int64_t n = dataset_->size();
  torch::Tensor order = options_.shuffle()
                            ? torch::tensor(seeded_permutation(n, mix(options_.seed(), uint64_t(epoch))))
                            : torch::arange(n, torch::kInt64);
  return std::make_unique<Epoch>(dataset_, shard(order).slice(0, 0, num_samples()), options_, num_batches(),
                                 first_batch);
}

}  // namespace cohort::data
