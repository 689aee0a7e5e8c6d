#include "cohort/tensorboard/record.h"

#include <cstdint>

#include "cohort/tensorboard/crc32c.h"

namespace cohort::tensorboard {
namespace {

template <typename T>
void append_little_endian(std::string& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(char((value >> (8 * i)) & 0xff));
}

}  // namespace

std::string frame_record(std::string_view data) {
  std::string length;
  append_little_endian<uint64_t>(length, data.size());
  std::string record = length;
  record.reserve(length.size() + 4 + data.size() + 4);
  append_little_endian<uint32_t>(record, masked_crc32c(length));
  record.append(data);
  append_little_endian<uint32_t>(record, masked_crc32c(data));
  return record;
}

}  // namespace cohort::tensorboard
