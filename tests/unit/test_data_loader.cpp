#include <catch2/catch.hpp>

#include <set>

#include <torch/torch.h>

#include "cohort/data/data_loader.h"
#include "cohort/data/dataset.h"

using cohort::data::DataLoader;
using cohort::data::DataLoaderOptions;
using cohort::data::TensorDataset;

namespace {

/// A dataset whose example i has the value i, so batches show their indices.
std::shared_ptr<TensorDataset> counting(int64_t n) {
  auto values = torch::arange(n, torch::kFloat32).unsqueeze(1);
  return std::make_shared<TensorDataset>(values, torch::arange(n, torch::kInt64), int64_t(n));
}

std::vector<int64_t> order_of(const DataLoader& loader, int64_t epoch, std::vector<int64_t>* sizes = nullptr) {
  std::vector<int64_t> order;
  auto pass = loader.epoch(epoch);
  while (auto batch = pass->next()) {
    if (sizes) sizes->push_back(batch->size());
    for (int64_t i = 0; i < batch->size(); ++i) order.push_back(batch->target[i].item<int64_t>());
  }
  return order;
}

}  // namespace

TEST_CASE("an epoch visits every example exactly once", "[data][loader]") {
  DataLoader loader(counting(103), DataLoaderOptions().batch_size(10).seed(5));
  std::vector<int64_t> sizes;
  const auto order = order_of(loader, 0, &sizes);
  CHECK(std::set<int64_t>(order.begin(), order.end()).size() == 103);
  CHECK(order.size() == 103);
  CHECK(loader.num_batches() == 11);
  CHECK(sizes.back() == 3);
}

TEST_CASE("the order depends on seed and epoch alone", "[data][loader]") {
  DataLoader a(counting(64), DataLoaderOptions().batch_size(8).seed(1));
  DataLoader b(counting(64), DataLoaderOptions().batch_size(8).seed(1));
  DataLoader c(counting(64), DataLoaderOptions().batch_size(8).seed(2));
  CHECK(order_of(a, 3) == order_of(b, 3));
  CHECK(order_of(a, 3) != order_of(a, 4));
  CHECK(order_of(a, 3) != order_of(c, 3));
  DataLoader plain(counting(5), DataLoaderOptions().batch_size(2).shuffle(false));
  CHECK(order_of(plain, 0) == std::vector<int64_t>{0, 1, 2, 3, 4});
}

TEST_CASE("worker threads hand out the same batches in the same order", "[data][loader]") {
  const auto data = counting(517);
  DataLoader inline_loader(data, DataLoaderOptions().batch_size(16).seed(9));
  for (int64_t workers : {1, 3}) {
    DataLoader threaded(data, DataLoaderOptions().batch_size(16).seed(9).num_workers(workers).prefetch(2));
    CHECK(order_of(threaded, 2) == order_of(inline_loader, 2));
  }
}

TEST_CASE("an epoch abandoned half-way stops its workers", "[data][loader]") {
  DataLoader loader(counting(1000), DataLoaderOptions().batch_size(4).num_workers(2));
  auto pass = loader.epoch(0);
  for (int i = 0; i < 3; ++i) REQUIRE(pass->next().has_value());
  pass.reset();  // must join without hanging
  SUCCEED();
}

TEST_CASE("drop_last drops the short batch", "[data][loader]") {
  DataLoader loader(counting(103), DataLoaderOptions().batch_size(10).drop_last(true).seed(1));
  std::vector<int64_t> sizes;
  CHECK(order_of(loader, 0, &sizes).size() == 100);
  CHECK(sizes == std::vector<int64_t>(10, 10));
}

TEST_CASE("a validation split is disjoint and fixed by the seed", "[data]") {
  const auto data = counting(50);
  auto [train, validation] = cohort::data::split_validation(*data, 0.2, 4);
  REQUIRE(validation);
  CHECK(train->size() == 40);
  CHECK(validation->size() == 10);
  std::set<int64_t> seen;
  for (const auto* part : {train.get(), validation.get()})
    for (int64_t i = 0; i < part->size(); ++i) seen.insert(part->targets()[i].item<int64_t>());
  CHECK(seen.size() == 50);
  auto again = cohort::data::split_validation(*data, 0.2, 4);
  CHECK(torch::equal(again.second->targets(), validation->targets()));
}
