// fuzz-link: Cohort::cohort
// The IDX reader: the input is a data file's bytes (gzip-compressed or plain),
// read as images (3 dimensions) and as labels (1), through the same
// parse_idx() that read_idx() uses: gzip layer (cut streams, CRC and length
// mismatches, bytes after the stream), magic number, sizes, data length.

#include <string_view>

#include "cohort/data/fashion_mnist.h"
#include "fuzzing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  for (const int dims : {1, 3})
    cohort::fuzz::expect_success_or_refusal([&] { cohort::data::parse_idx(raw, dims, "fuzz.idx"); });
  return 0;
}
