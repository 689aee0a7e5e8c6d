#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "cohort/distributed/runtime.h"
#include "cohort/job/training_job.h"
#include "cohort/models/mlp.h"
#include "cohort/strategies/ddp/ddp.h"
#include "cohort/strategies/single.h"
#include "unit/helpers.h"

using cohort::config::Json;
using cohort::job::TrainingJob;
using cohort::strategies::Ddp;
using cohort::strategies::DdpOptions;
using cohort::strategy::MicroStep;
using cohort::testing::flat;
using cohort::testing::flat_parameters;
using cohort::testing::synthetic_config;
namespace distributed = cohort::distributed;
namespace ddp = cohort::strategies::ddp;

namespace {

/// Whether `local` is equal on every rank (compared with rank 0's copy).
bool same_on_every_rank(const torch::Tensor& local) {
  auto world = distributed::world();
  auto reference = local.clone();
  world->broadcast(reference, 0);
  auto all_same = torch::tensor({torch::equal(reference, local) ? 1 : 0}, torch::kInt32);
  world->allreduce(all_same, distributed::ReduceOp::kMin);
  return all_same.item<int32_t>() == 1;
}

/// A training config that one process with batch `batch` and N ranks with
/// batch/N each run step for step alike: no dropout, no validation split,
/// the training set a multiple of the batch.
Json equivalence_config(int64_t batch, const Json& strategy, int64_t accumulation = 1) {
  return synthetic_config({{"data", {{"train_samples", 288}, {"validation_fraction", 0.0}}},
                           {"loader", {{"batch_size", batch}, {"drop_last", true}, {"shuffle", true}}},
                           {"model", {{"name", "mlp"}, {"hidden", {24, 16}}, {"dropout", 0.0}}},
                           {"trainer", {{"epochs", 2}, {"accumulation_steps", accumulation}}},
                           {"strategy", strategy}});
}

const Json kSingle = {{"name", "single"}, {"device", "cpu"}};

Json ddp_strategy(const Json& extra = Json::object()) {
  Json strategy = {{"name", "ddp"}, {"device", "cpu"}, {"timeout_s", 60}};
  strategy.update(extra);
  return strategy;
}

torch::Tensor train(const Json& config) {
  TrainingJob job(config, "test config");
  job.fit();
  return flat_parameters(job);
}

constexpr int64_t kGlobalBatch = 24;  // divisible by 1, 2 and 3 ranks

const cohort::strategy::LossFn loss = cohort::trainer::cross_entropy;

}  // namespace

TEST_CASE("every rank starts from rank 0's parameters", "[ddp]") {
  torch::manual_seed(100 + distributed::world_rank());  // a different initialisation on each rank
  torch::nn::Linear model(5, 3);
  auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1));
  Ddp strategy(DdpOptions().device(torch::kCPU));
  strategy.prepare(torch::nn::AnyModule(model), optimizer);
  CHECK(same_on_every_rank(flat(model->parameters())));
}

TEST_CASE("N ranks with batch B/N end where one process with batch B ends", "[ddp][equivalence]") {
  const int ranks = distributed::world_size();
  const auto reference = train(equivalence_config(kGlobalBatch, kSingle));
  for (const Json& options : {Json::object(), Json{{"overlap", "on"}}, Json{{"overlap", "off"}}, Json{{"bucket_cap_mb", 0.001},
                                                                              {"first_bucket_mb", 0.001}}}) {
    INFO("ddp options " << options.dump());
    const auto parallel = train(equivalence_config(kGlobalBatch / ranks, ddp_strategy(options)));
    CHECK(torch::allclose(parallel, reference, 1e-5, 1e-5));
    CHECK(same_on_every_rank(parallel));
  }
}

TEST_CASE("gradient accumulation under ddp matches one large batch", "[ddp][equivalence]") {
  const int ranks = distributed::world_size();
  const auto reference = train(equivalence_config(kGlobalBatch, kSingle));
  const auto accumulated = train(equivalence_config(kGlobalBatch / ranks, ddp_strategy(), /*accumulation=*/4));
  CHECK(torch::allclose(accumulated, reference, 1e-5, 1e-5));
}

TEST_CASE("no_sync accumulates locally and the next backward reduces everything", "[ddp]") {
  const int rank = distributed::world_rank(), ranks = distributed::world_size();
  torch::manual_seed(3);
  torch::nn::Linear model(4, 2);
  torch::nn::Linear reference_model(4, 2);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < model->parameters().size(); ++i)
      reference_model->parameters()[i].copy_(model->parameters()[i]);
  }
  auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1));
  Ddp strategy(DdpOptions().device(torch::kCPU));
  strategy.prepare(torch::nn::AnyModule(model), optimizer);

  // Two micro-batches per rank; rank r's are rows r and r + ranks of each.
  torch::manual_seed(11);
  const auto inputs = torch::randn({2, 2 * ranks, 4});
  const auto targets = torch::randint(0, 2, {2, 2 * ranks});
  auto mine = [&](int micro) {
    const auto rows = torch::tensor({int64_t(rank), int64_t(rank + ranks)});
    return cohort::data::Batch{inputs[micro].index_select(0, rows), targets[micro].index_select(0, rows)};
  };
  strategy.zero_grad();
  MicroStep half;
  half.loss_weight = 0.5;
  {
    auto guard = strategy.no_sync();
    strategy.forward_backward(mine(0), loss, half);
  }
  strategy.forward_backward(mine(1), loss, half);
  strategy.step();

  // The same step in one process: mean loss over both micro-batches of every rank.
  auto reference_loss =
      0.5 * (loss(reference_model(inputs[0]), targets[0]) + loss(reference_model(inputs[1]), targets[1]));
  reference_loss.backward();
  torch::optim::SGD(reference_model->parameters(), torch::optim::SGDOptions(0.1)).step();
  CHECK(torch::allclose(flat(model->parameters()), flat(reference_model->parameters()), 1e-5, 1e-6));
}

namespace {

/// Two heads; each forward uses only one of them, chosen by the caller.
struct TwoHeadsImpl : torch::nn::Module {
  TwoHeadsImpl() {
    trunk = register_module("trunk", torch::nn::Linear(4, 6));
    left = register_module("left", torch::nn::Linear(6, 2));
    right = register_module("right", torch::nn::Linear(6, 2));
    never = register_module("never", torch::nn::Linear(6, 2));
  }
  torch::Tensor forward(torch::Tensor input) {
    const auto hidden = torch::relu(trunk(input));
    return use_left ? left(hidden) : right(hidden);
  }
  torch::nn::Linear trunk{nullptr}, left{nullptr}, right{nullptr}, never{nullptr};
  bool use_left = true;
};
TORCH_MODULE(TwoHeads);

}  // namespace

TEST_CASE("parameters without a gradient do not hang the job", "[ddp][unused]") {
  const int rank = distributed::world_rank();
  torch::manual_seed(5);
  TwoHeads model;
  auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  Ddp strategy(DdpOptions().device(torch::kCPU).reducer(ddp::GradientReducerOptions().find_unused_parameters(true)));
  strategy.prepare(torch::nn::AnyModule(model), optimizer);
  for (int step = 0; step < 3; ++step) {
    model->use_left = (rank + step) % 2 == 0;  // ranks disagree about which head is used
    torch::manual_seed(20 + step + rank);
    strategy.train_step({torch::randn({4, 4}), torch::randint(0, 2, {4})}, loss);
  }
  CHECK(same_on_every_rank(flat(model->parameters())));
  // A head no rank ever used has no gradient, as in one process.
  CHECK_FALSE(model->never->weight.grad().defined());
  if (distributed::world_size() > 1) CHECK(model->right->weight.grad().defined());
}

TEST_CASE("an unused parameter without find_unused_parameters is a clear error, not a hang", "[ddp][unused]") {
  torch::manual_seed(5);
  TwoHeads model;
  auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1));
  Ddp strategy(DdpOptions().device(torch::kCPU));
  strategy.prepare(torch::nn::AnyModule(model), optimizer);
  CHECK_THROWS_WITH(strategy.train_step({torch::randn({4, 4}), torch::randint(0, 2, {4})}, loss),
                    Catch::Matchers::Contains("find_unused_parameters"));
}

namespace {

/// Linear, BatchNorm, ReLU, Linear: a model with buffers.
struct NormalisedImpl : torch::nn::Module {
  NormalisedImpl() {
    layers = register_module("layers", torch::nn::Sequential(torch::nn::Linear(6, 8), torch::nn::BatchNorm1d(8),
                                                              torch::nn::ReLU(), torch::nn::Linear(8, 3)));
  }
  torch::Tensor forward(torch::Tensor input) { return layers->forward(input); }
  torch::nn::Sequential layers{nullptr};
};
TORCH_MODULE(Normalised);

}  // namespace

TEST_CASE("buffers follow rank 0 and compressed gradients keep replicas identical", "[ddp]") {
  const int rank = distributed::world_rank();
  for (const char* compression : {"fp16", "bf16"}) {
    INFO(compression);
    torch::manual_seed(9);
    Normalised model;
    auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1));
    Ddp strategy(DdpOptions().device(torch::kCPU).reducer(ddp::GradientReducerOptions().compression(
        std::string(compression) == "fp16" ? ddp::Compression::kFloat16 : ddp::Compression::kBFloat16)));
    strategy.prepare(torch::nn::AnyModule(model), optimizer);
    double first = 0, last = 0;
    for (int step = 0; step < 20; ++step) {
      torch::manual_seed(40 + rank);  // the same rank-specific batch every step: loss must fall
      const auto stats = strategy.train_step({torch::randn({8, 6}) * (1 + rank), torch::randint(0, 3, {8})}, loss);
      (step == 0 ? first : last) = stats.mean_loss();
    }
    CHECK(last < first);
    CHECK(same_on_every_rank(flat(model->parameters())));
    // Each rank's batches moved its running statistics apart; the broadcast
    // before the next step's forward brings them back to rank 0's (in eval
    // mode the forward itself leaves them alone).
    if (distributed::world_size() > 1) CHECK_FALSE(same_on_every_rank(flat(model->buffers())));
    model->eval();
    strategy.train_step({torch::randn({8, 6}), torch::randint(0, 3, {8})}, loss);
    CHECK(same_on_every_rank(flat(model->buffers())));
  }
}

TEST_CASE("gradient buckets follow the caps, last layers first", "[ddp]") {
  torch::manual_seed(1);
  auto model = torch::nn::Sequential(torch::nn::Linear(512, 512), torch::nn::Linear(512, 512),
                                     torch::nn::Linear(512, 4));
  const auto parameters = model->parameters();
  ddp::GradientReducer reducer(parameters, distributed::world(),
                               ddp::GradientReducerOptions().bucket_cap_mb(1.5).first_bucket_mb(0.01));
  const auto& layout = reducer.bucket_layout();
  REQUIRE(layout.size() >= 2);
  // The first bucket holds the last layer's parameters only (just over 0.01 MiB).
  CHECK(layout.front().front() == parameters.size() - 1);
  size_t count = 0;
  for (const auto& bucket : layout) count += bucket.size();
  CHECK(count == parameters.size());
}

TEST_CASE("ddp on cuda:0 over NCCL matches single on cuda:0", "[ddp][cuda]") {
  if (!torch::cuda::is_available()) {
    WARN("no CUDA device here; this test runs on GPU machines");
    return;
  }
  // Under mpirun the world's CUDA communicator is NCCL; alone, ask for NCCL directly.
  auto nccl = distributed::mpi_active() ? distributed::world(torch::kCUDA) : distributed::make_nccl_communicator();
  const torch::Device device(torch::kCUDA, 0);
  auto train_on_cuda = [&](std::shared_ptr<cohort::strategy::Strategy> strategy) {
    torch::manual_seed(17);
    auto model = cohort::models::Mlp(cohort::models::MlpOptions(12, 3).hidden({32, 32}).dropout(0.0));
    auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
    strategy->prepare(torch::nn::AnyModule(model), optimizer);
    torch::manual_seed(18);
    for (int step = 0; step < 5; ++step) strategy->train_step({torch::randn({16, 12}), torch::randint(0, 3, {16})}, loss);
    return flat(model->parameters());
  };
  const auto reference = train_on_cuda(std::make_shared<cohort::strategies::Single>(
      cohort::strategies::SingleOptions().device(device)));
  for (const auto compression : {ddp::Compression::kNone, ddp::Compression::kBFloat16}) {
    const auto parallel = train_on_cuda(std::make_shared<Ddp>(
        DdpOptions().device(device).communicator(nccl).reducer(ddp::GradientReducerOptions().compression(compression))));
    const double tolerance = compression == ddp::Compression::kNone ? 1e-5 : 2e-2;
    CHECK(torch::allclose(parallel, reference, tolerance, tolerance));
  }
}

TEST_CASE("single under mpirun: every rank trains alone, only rank 0 writes", "[ddp][single]") {
  namespace distributed = cohort::distributed;
  cohort::models::Mlp model(cohort::models::MlpOptions(4, 2).hidden({4}));
  auto optimizer = std::make_shared<torch::optim::SGD>(model->parameters(), torch::optim::SGDOptions(0.1));
  const auto config = cohort::job::training_schema().validate(nlohmann::json::object(), "test config");
  // The job's ranks are the world: only its rank 0 writes.
  const auto single = cohort::job::make_strategy(config, "test config", cohort::job::JobContext::world());
  single->prepare(torch::nn::AnyModule(model), optimizer);
  CHECK(single->is_writer() == (distributed::world()->rank() == 0));
  // A job on a group of its own (a sweep's trial): the group's rank 0 writes.
  const auto alone = distributed::world()->split(distributed::world()->rank(), 0);
  const auto in_group = cohort::job::make_strategy(config, "test config", cohort::job::JobContext{alone, nullptr});
  in_group->prepare(torch::nn::AnyModule(model), optimizer);
  CHECK(in_group->is_writer());
  distributed::world()->barrier();
}
