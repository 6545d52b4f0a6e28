// libFuzzer: arbitrary text into the Phoenix codec. A text it accepts must survive being
// answered: every frame written from what it read is valid JSON of the V2 shape.
#include "transport/phoenix_codec.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <cstdlib>

namespace {

void require_frame(const pulse::transport::outbound_frame& frame) {
  boost::json::error_code ec;
  auto parsed = boost::json::parse(frame.payload(), ec);
  if (ec || !parsed.is_array() || parsed.as_array().size() != 5)
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  namespace phoenix = pulse::transport::phoenix;
  auto decoded = phoenix::decode(text);
  if (auto* error = std::get_if<pulse::transport::decode_error>(&decoded)) {
    if (error->reason.empty())
      std::abort();
    require_frame(phoenix::encode_error_reply(
      error->join_ref, error->ref, error->topic.empty() ? "phoenix" : error->topic, error->reason));
    return 0;
  }
  auto& msg = std::get<pulse::transport::envelope>(decoded);
  require_frame(phoenix::encode_reply(msg.join_ref, msg.ref, msg.topic, true, msg.payload));
  require_frame(phoenix::encode_broadcast(msg.topic, msg.event, msg.payload, msg.ref));
  require_frame(phoenix::encode_push(msg.join_ref.value_or(""), msg.topic, msg.event, msg.payload));
  return 0;
}
