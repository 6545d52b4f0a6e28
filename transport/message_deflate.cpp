#include "transport/message_deflate.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <memory>
#include <new>
#include <stdexcept>
#include <zlib.h>

namespace pulse::transport {

namespace {

// zlib's default level: a broadcast is compressed once for all its subscribers, so bytes saved
// count more than the time (level 1 is up to twice as fast, its output up to 20% larger on
// kilobytes of JSON). Memory level 6 instead of 8: a quarter of the hash table to clear before
// each message (0.7 us instead of 2.5 us) and 170 KiB per stream instead of 270, for output
// within 0.2% of it. docs/operations.md has the figures.
constexpr int compression_level = 6;
constexpr int memory_level = 6;
constexpr std::string_view sync_flush_tail{"\x00\x00\xff\xff", 4};

std::atomic<std::uint64_t> compressed_messages = 0;

/// One thread's deflate streams, one per window size, made when first needed.
class thread_deflaters {
 public:
  thread_deflaters() = default;
  thread_deflaters(const thread_deflaters&) = delete;
  thread_deflaters& operator=(const thread_deflaters&) = delete;
  ~thread_deflaters() {
    for (auto& stream : streams_)
      if (stream)
        deflateEnd(stream.get());
  }

  z_stream& stream(int window_bits) {
    auto& slot = streams_.at(static_cast<std::size_t>(window_bits));
    if (!slot) {
      auto fresh = std::make_unique<z_stream>();
      if (deflateInit2(fresh.get(), compression_level, Z_DEFLATED, -window_bits, memory_level,
                       Z_DEFAULT_STRATEGY)
          != Z_OK)
        throw std::bad_alloc{};
      slot = std::move(fresh);
    }
    return *slot;
  }

 private:
  std::array<std::unique_ptr<z_stream>, 16> streams_;
};

} // namespace

void deflate_message(std::string_view payload, int window_bits, std::string& out) {
  if (window_bits < 9 || window_bits > 15)
    throw std::invalid_argument("permessage-deflate window bits must be 9 to 15");
  thread_local thread_deflaters deflaters;
  auto& stream = deflaters.stream(window_bits);
  deflateReset(&stream); // no context taken over from the previous message
  auto start = out.size();
  // Room for the worst case up front (stored blocks), so one deflate() call usually does it all.
  out.resize(start + deflateBound(&stream, static_cast<uLong>(payload.size())) + 16);
  std::size_t written = start;
  auto* next = reinterpret_cast<const Bytef*>(payload.data());
  auto left = payload.size();
  for (;;) {
    auto chunk = static_cast<uInt>(std::min<std::size_t>(left, UINT_MAX));
    stream.next_in = const_cast<Bytef*>(next);
    stream.avail_in = chunk;
    left -= chunk;
    do {
      if (written == out.size())
        out.resize(out.size() + out.size() / 2 + 64);
      auto room = static_cast<uInt>(std::min<std::size_t>(out.size() - written, UINT_MAX));
      stream.next_out = reinterpret_cast<Bytef*>(out.data() + written);
      stream.avail_out = room;
      deflate(&stream, left == 0 ? Z_SYNC_FLUSH : Z_NO_FLUSH);
      written += room - stream.avail_out;
    } while (stream.avail_out == 0);
    next += chunk;
    if (left == 0)
      break;
  }
  out.resize(written);
  if (std::string_view{out}.substr(start).ends_with(sync_flush_tail))
    out.resize(written - sync_flush_tail.size());
  compressed_messages.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t deflated_message_count() noexcept {
  return compressed_messages.load(std::memory_order_relaxed);
}

} // namespace pulse::transport
