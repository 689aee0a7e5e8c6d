#pragma once
// Averages gradients over the ranks of a communicator while backward still
// runs. Parameters are packed into buckets in reverse registration order (the
// order backward produces their gradients); when every gradient of a bucket
// has been accumulated, the bucket's allreduce starts, so communication
// overlaps the rest of backward. Each parameter's .grad is a view into its
// bucket, so backward accumulates in place and finalize() only waits for the
// last buckets: the averages are already where the optimizer reads them.
//
// Readiness comes from hooks on each parameter's gradient accumulator (as
// PyTorch's reducer does): a hook on the tensor itself fires before the
// gradient has been added to .grad.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <torch/arg.h>
#include <torch/types.h>

#include "cohort/distributed/communicator.h"

namespace cohort::strategies::ddp {

/// The type gradients travel in; averaging always happens in the gradients' own type.
enum class Compression { kNone, kFloat16, kBFloat16 };

struct GradientReducerOptions {
  /// Largest bucket, in MiB.
  TORCH_ARG(double, bucket_cap_mb) = 25.0;
  /// The first bucket (the last layers' gradients, ready first) is kept small
  /// so its allreduce starts early.
  TORCH_ARG(double, first_bucket_mb) = 1.0;
  /// Start each bucket's allreduce as soon as it is ready (true), or all of
  /// them after backward (false; for measuring what overlap gains).
  TORCH_ARG(bool, overlap) = true;
  /// Parameters that get no gradient in a step count as ready with a zero
  /// gradient when finalize() runs, so their bucket does not hang the job.
  TORCH_ARG(bool, find_unused_parameters) = false;
  TORCH_ARG(Compression, compression) = Compression::kNone;
};

class GradientReducer {
 public:
  /// `parameters` in registration order (Module::parameters()); those that do
  /// not require grad are left out. All must be on the communicator's device
  /// type and have the same dtype within a bucket.
  GradientReducer(std::vector<torch::Tensor> parameters, std::shared_ptr<distributed::Communicator> communicator,
                  GradientReducerOptions options = {});
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  /// Whether the next backward passes reduce (true) or only accumulate
  /// locally (false). Set before backward.
  void set_synchronize(bool synchronize) { synchronize_ = synchronize; }
  bool synchronize() const { return synchronize_; }

  /// Zeroes every gradient and makes each parameter's .grad a view into its
  /// bucket, so backward accumulates straight into the buckets and nothing is
  /// copied before or after the allreduce. Call it instead of the optimizer's
  /// zero_grad() (which would set the gradients to none).
  void zero_grad();

  /// After a synchronised backward (it runs by itself when backward ends):
  /// launches what is left (unused parameters, or every bucket when overlap
  /// is off) and waits for all buckets, whose slices are the parameters'
  /// averaged .grad. A no-op when nothing is pending.
  void finalize();

  /// After a backward that failed part-way: contributes zeros for every
  /// bucket not yet launched so the peers' allreduces complete, then waits.
  void abandon();

  /// Number of buckets and the parameters (indices into the constructor's
  /// list) of each, in launch order.
  const std::vector<std::vector<size_t>>& bucket_layout() const { return layout_; }

 private:
  struct Bucket;
  /// Decides which parameters share a bucket (layout_), then allocates them.
  void build_buckets();
  /// One flat buffer per bucket of layout_ (plus its wire buffer when compressed).
  void allocate_buckets();
  void install_hooks();
  /// Called by parameter's accumulator hook: copies its gradient into its
  /// bucket and launches the buckets that are complete.
  void mark_ready(size_t parameter);
  void launch_ready_buckets();
  void launch(Bucket& bucket);
  /// Makes sure parameter's bucket slice holds its gradient (see the .cpp).
  void gather(size_t parameter);
  /// Makes parameter's .grad the view of its bucket slice.
  void bind_gradient(size_t parameter);
  /// Lets the communicator advance the buckets in flight (see the .cpp).
  void drive_progress();
  /// Zeroes the slices of parameters that got no gradient in this backward
  /// and marks them ready; returns them.
  std::vector<size_t> fill_unready();
  /// Launches every bucket not launched yet and waits for all of them.
  void complete_round();
  /// 1 for each parameter that got a gradient on at least one rank.
  std::vector<int32_t> exchange_usage(const std::vector<size_t>& unused);
  void reset_round();

  std::vector<torch::Tensor> parameters_;
  std::shared_ptr<distributed::Communicator> communicator_;
  GradientReducerOptions options_;
  std::vector<std::vector<size_t>> layout_;
  std::vector<std::unique_ptr<Bucket>> buckets_;
  std::vector<size_t> bucket_of_;  // parameter -> bucket
  std::vector<size_t> slot_of_;    // parameter -> position in its bucket
  std::vector<bool> ready_;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;
  std::vector<uintptr_t> hook_keys_;
  size_t next_to_launch_ = 0;  // buckets launch in order, so all ranks match
  size_t first_in_flight_ = 0;  // buckets before it have finished
  bool pending_ = false;
  bool synchronize_ = true;
  std::mutex mutex_;  // autograd may run hooks on its device threads
};

}  // namespace cohort::strategies::ddp
