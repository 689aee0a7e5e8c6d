#pragma once
// CRC32C (Castagnoli), the checksum of TensorFlow's record framing, and the
// "masked" form records store: a CRC of data that itself holds CRCs is weak,
// so TensorFlow rotates and offsets it.

#include <cstdint>
#include <string_view>

namespace cohort::tensorboard {

uint32_t crc32c(std::string_view data);

/// ((crc >> 15) | (crc << 17)) + 0xa282ead8 of crc32c(data).
uint32_t masked_crc32c(std::string_view data);

}  // namespace cohort::tensorboard
