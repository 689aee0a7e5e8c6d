#include "cohort/tensorboard/crc32c.h"

#include "cohort/core/crc32c.h"

namespace cohort::tensorboard {

uint32_t crc32c(std::string_view data) { return cohort::crc32c(data); }

uint32_t masked_crc32c(std::string_view data) {
  const uint32_t crc = crc32c(data);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

}  // namespace cohort::tensorboard
