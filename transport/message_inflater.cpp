#include "transport/message_inflater.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <new>
#include <zlib.h>

namespace pulse::transport {

namespace {

constexpr std::string_view sync_flush_tail{"\x00\x00\xff\xff", 4};
constexpr int max_window_bits = 15; // inflates whatever window the client chose

} // namespace

void message_inflater::stream_deleter::operator()(z_stream_s* stream) const noexcept {
  inflateEnd(stream);
  delete stream;
}

message_inflater::message_inflater(bool keep_context) : keep_context_(keep_context) {}
message_inflater::~message_inflater() = default;
message_inflater::message_inflater(message_inflater&&) noexcept = default;
message_inflater& message_inflater::operator=(message_inflater&&) noexcept = default;

message_inflater::result message_inflater::inflate(std::string_view compressed,
                                                   std::string& message, std::size_t max_bytes) {
  if (!stream_) {
    auto fresh = std::make_unique<z_stream>();
    if (inflateInit2(fresh.get(), -max_window_bits) != Z_OK)
      throw std::bad_alloc{};
    stream_.reset(fresh.release());
    stream_ended_ = false;
  }
  return run(compressed, message, max_bytes);
}

message_inflater::result message_inflater::run(std::string_view compressed, std::string& message,
                                               std::size_t max_bytes) {
  auto& stream = *stream_;
  // Output goes through a buffer on the stack, then onto the message: the message grows by what
  // was inflated, never by a guess.
  std::array<char, 16 * 1024> out;
  stream.avail_in = 0;
  for (;;) {
    if (stream.avail_in == 0 && !compressed.empty()) {
      auto chunk = std::min<std::size_t>(compressed.size(), UINT_MAX);
      stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
      stream.avail_in = static_cast<uInt>(chunk);
      compressed.remove_prefix(chunk);
    }
    if (stream_ended_) // nothing may follow the final block but the tail we add ourselves
      return stream.avail_in == 0 && compressed.empty() ? result::ok : result::corrupt;
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    auto rc = ::inflate(&stream, Z_SYNC_FLUSH);
    auto produced = out.size() - stream.avail_out;
    if (message.size() + produced > max_bytes)
      return result::too_big;
    message.append(out.data(), produced);
    bool input_used = stream.avail_in == 0 && compressed.empty();
    switch (rc) {
      case Z_STREAM_END: stream_ended_ = true; continue;
      case Z_OK: break;
      case Z_BUF_ERROR: // no progress: it needs more input than this part holds
        if (input_used)
          return result::ok;
        if (stream.avail_in == 0)
          continue;
        return result::corrupt;
      case Z_MEM_ERROR: throw std::bad_alloc{};
      default: return result::corrupt; // Z_DATA_ERROR, Z_NEED_DICT
    }
    if (input_used && stream.avail_out != 0)
      return result::ok;
  }
}

message_inflater::result message_inflater::finish(std::string& message, std::size_t max_bytes) {
  auto outcome = result::ok;
  if (!stream_ended_)
    outcome = inflate(sync_flush_tail, message, max_bytes);
  if (outcome != result::ok || !keep_context_) {
    // Each message stands alone: an idle connection holds no zlib state.
    stream_.reset();
    stream_ended_ = false;
    return outcome;
  }
  if (stream_ended_)
    return start_over_after_final_block();
  return result::ok;
}

message_inflater::result message_inflater::start_over_after_final_block() {
  // RFC 7692 §7.2.3.4: a sender may end a message with a final block; its next message is a new
  // DEFLATE stream that may still refer back to what came before, so the window carries over.
  auto& stream = *stream_;
  std::string window(std::size_t{1} << max_window_bits, '\0');
  uInt length = 0;
  if (inflateGetDictionary(&stream, reinterpret_cast<Bytef*>(window.data()), &length) != Z_OK
      || inflateReset(&stream) != Z_OK
      || inflateSetDictionary(&stream, reinterpret_cast<const Bytef*>(window.data()), length)
           != Z_OK) {
    stream_.reset();
    return result::corrupt;
  }
  stream_ended_ = false;
  return result::ok;
}

void message_inflater::reset() noexcept {
  stream_.reset();
  stream_ended_ = false;
}

} // namespace pulse::transport
