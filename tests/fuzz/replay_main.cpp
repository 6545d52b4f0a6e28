// The fuzz targets without libFuzzer: every input of the given corpus directories, once each,
// through LLVMFuzzerTestOneInput, in the test build (g++, ASan and UBSan). `make test` runs the
// corpus this way; `make fuzz` searches for new inputs with libFuzzer and clang.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  std::vector<std::filesystem::path> inputs;
  for (int i = 1; i < argc; ++i) {
    if (!std::filesystem::is_directory(argv[i])) {
      std::fprintf(stderr, "%s: not a directory\n", argv[i]);
      return 1;
    }
    for (const auto& entry : std::filesystem::directory_iterator{argv[i]})
      if (entry.is_regular_file())
        inputs.push_back(entry.path());
  }
  std::sort(inputs.begin(), inputs.end()); // the same order on every run
  if (inputs.empty()) {
    std::fprintf(stderr, "no inputs: give one or more corpus directories\n");
    return 1;
  }
  for (const auto& path : inputs) {
    std::ifstream file{path, std::ios::binary};
    std::string bytes{std::istreambuf_iterator<char>{file}, std::istreambuf_iterator<char>{}};
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }
  std::printf("%zu inputs replayed\n", inputs.size());
  return 0;
}
