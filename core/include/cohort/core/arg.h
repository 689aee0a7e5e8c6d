#pragma once
// COHORT_ARG(type, name): an options-struct member with a chained setter,
// `Options().name(value).other(value)`, and a getter `name()`, in the style
// of LibTorch's TORCH_ARG, for the parts of Cohort that do not use LibTorch.

#include <utility>

#define COHORT_ARG(T, name)                                       \
 public:                                                          \
  auto name(const T& value)->decltype(*this) {                    \
    this->name##_ = value;                                        \
    return *this;                                                 \
  }                                                               \
  auto name(T&& value)->decltype(*this) {                         \
    this->name##_ = std::move(value);                             \
    return *this;                                                 \
  }                                                               \
  const T& name() const noexcept { return this->name##_; }        \
  T& name() noexcept { return this->name##_; }                    \
                                                                  \
 private:                                                         \
  T name##_
