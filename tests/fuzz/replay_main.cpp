// The main a fuzz target gets in the ordinary build (no libFuzzer, any
// compiler): it feeds LLVMFuzzerTestOneInput every file of the directories
// (and the files) it is given, once each, so `make test` replays the seed
// corpus and every input that ever crashed in seconds. A finding ends the
// process as it would under libFuzzer (an uncaught exception, a signal).

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

/// The files under `path` (or `path` itself), sorted, hidden ones (.gitkeep) left out.
std::vector<fs::path> inputs_of(const fs::path& path) {
  std::vector<fs::path> files;
  if (fs::is_directory(path)) {
    for (const auto& entry : fs::recursive_directory_iterator(path))
      if (entry.is_regular_file() && entry.path().filename().string().front() != '.') files.push_back(entry.path());
  } else if (fs::is_regular_file(path)) {
    files.push_back(path);
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    for (const auto& file : inputs_of(argv[i])) {
      std::ifstream in(file, std::ios::binary);
      const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      // A copy on the heap of exactly the input's size, as libFuzzer passes it (ASan sees overreads).
      std::vector<uint8_t> data(bytes.begin(), bytes.end());
      std::fprintf(stderr, "replaying %s (%zu bytes)\n", file.c_str(), data.size());
      LLVMFuzzerTestOneInput(data.data(), data.size());
      ++replayed;
    }
  }
  std::printf("replayed %zu inputs without a finding\n", replayed);
  return replayed > 0 ? 0 : 1;
}
