// permessage-deflate as a client does it, straight on zlib, to check Pulse's side against.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <zlib.h>

namespace pulse::test {

/// A client's compressor: raw DEFLATE, each message sync-flushed with its 00 00 ff ff left off,
/// the context kept from message to message (context takeover) until reset().
class client_deflater {
 public:
  explicit client_deflater(int window_bits = 15) {
    if (deflateInit2(&stream_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -window_bits, 8,
                     Z_DEFAULT_STRATEGY)
        != Z_OK)
      throw std::runtime_error("deflateInit2 failed");
  }
  ~client_deflater() { deflateEnd(&stream_); }
  client_deflater(const client_deflater&) = delete;
  client_deflater& operator=(const client_deflater&) = delete;

  /// `final_block`: end the DEFLATE stream (BFINAL) instead of a sync flush, as RFC 7692 §7.2.3.4
  /// allows; the next message then starts a new stream with this one's text as its dictionary.
  std::string compress(std::string_view message, bool final_block = false) {
    std::string out(message.size() + 1024, '\0');
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data()));
    stream_.avail_in = static_cast<uInt>(message.size());
    stream_.next_out = reinterpret_cast<Bytef*>(out.data());
    stream_.avail_out = static_cast<uInt>(out.size());
    if (deflate(&stream_, final_block ? Z_FINISH : Z_SYNC_FLUSH) == Z_STREAM_ERROR)
      throw std::runtime_error("deflate failed");
    out.resize(out.size() - stream_.avail_out);
    if (final_block) {
      deflateReset(&stream_);
      deflateSetDictionary(&stream_, reinterpret_cast<const Bytef*>(message.data()),
                           static_cast<uInt>(message.size()));
    } else if (std::string_view{out}.ends_with(std::string_view{"\0\0\xff\xff", 4})) {
      out.resize(out.size() - 4);
    }
    return out;
  }

  void reset() { deflateReset(&stream_); }

 private:
  z_stream stream_{};
};

/// Inflates one permessage-deflate message on its own (no context before it).
inline std::string inflate_alone(std::string_view compressed, int window_bits = 15) {
  z_stream stream{};
  if (inflateInit2(&stream, -window_bits) != Z_OK)
    throw std::runtime_error("inflateInit2 failed");
  std::string input{compressed};
  input.append("\0\0\xff\xff", 4);
  std::string out;
  char buffer[4096];
  stream.next_in = reinterpret_cast<Bytef*>(input.data());
  stream.avail_in = static_cast<uInt>(input.size());
  int rc = Z_OK;
  do {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    rc = inflate(&stream, Z_SYNC_FLUSH);
    out.append(buffer, sizeof buffer - stream.avail_out);
  } while (rc == Z_OK && (stream.avail_in > 0 || stream.avail_out == 0));
  inflateEnd(&stream);
  if (rc != Z_OK && rc != Z_BUF_ERROR && rc != Z_STREAM_END)
    throw std::runtime_error("not a valid DEFLATE stream");
  return out;
}

} // namespace pulse::test
