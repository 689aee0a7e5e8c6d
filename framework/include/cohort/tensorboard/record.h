#pragma once
// TFRecord framing, the container of event files: each record is
//   uint64 length, uint32 masked_crc32c(length), bytes data, uint32 masked_crc32c(data)
// all little-endian. A reader stops at the first incomplete record, so a file
// cut short by a killed run is readable up to its last whole record.

#include <string>
#include <string_view>

namespace cohort::tensorboard {

/// `data` framed as one record.
std::string frame_record(std::string_view data);

}  // namespace cohort::tensorboard
