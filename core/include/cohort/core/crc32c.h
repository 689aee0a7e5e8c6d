#pragma once
// CRC32C (Castagnoli): the checksum Cohort's checkpoints, sweep journals and
// TensorBoard records carry, so that a damaged file is refused, not trusted.

#include <cstdint>
#include <string_view>

namespace cohort {

/// The CRC32C of `data` (polynomial 0x1EDC6F41 reflected, all-ones start and
/// final xor): crc32c("123456789") is 0xE3069283.
uint32_t crc32c(std::string_view data);

}  // namespace cohort
