#pragma once
// The range of a config key that gives a duration in seconds. A duration
// becomes a clock's count of nanoseconds (int64) somewhere, so beyond its type
// (a float32) it is bounded to what every clock holds.

#include "cohort/config/schema.h"

namespace cohort::config {

/// The longest duration a key in seconds may give: about 31 years.
inline constexpr double kMaxSeconds = 1e9;

/// A duration in seconds, 0 (often "no limit") to kMaxSeconds.
inline Range seconds() { return Range::between(0.0, kMaxSeconds); }

/// A duration in seconds above 0, at most kMaxSeconds.
inline Range positive_seconds() { return Range{0.0, kMaxSeconds, true, false}; }

}  // namespace cohort::config
