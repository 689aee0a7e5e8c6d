#include "cohort/tensorboard/crc32c.h"

#include <boost/crc.hpp>

namespace cohort::tensorboard {

uint32_t crc32c(std::string_view data) {
  // Polynomial 0x1EDC6F41, reflected in and out, all-ones start and final xor.
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;
  crc.process_bytes(data.data(), data.size());
  return crc.checksum();
}

uint32_t masked_crc32c(std::string_view data) {
  const uint32_t crc = crc32c(data);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

}  // namespace cohort::tensorboard
