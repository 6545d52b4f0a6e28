// libFuzzer: arbitrary input into the Phoenix codec, in each serializer (the first byte picks V2
// text, V1 text or a V2 binary message). A message it accepts must survive being answered: every
// frame written from what it read is valid in its format, and a payload written out reads back
// the same (numbers included, in their JavaScript form).
#include <pulse/transport/phoenix_codec.hpp>

#include <boost/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>

namespace {

namespace json = boost::json;
namespace phoenix = pulse::transport::phoenix;
using phoenix::wire_format;

/// Parses a text frame of `format`; aborts unless it has the format's shape.
json::value require_frame(const pulse::transport::outbound_frame& frame, wire_format format) {
  json::parse_options deep;
  deep.max_depth = 1024;
  json::error_code ec;
  auto parsed = json::parse(frame.payload(), ec, {}, deep);
  if (ec)
    std::abort();
  if (format == wire_format::v2 && (!parsed.is_array() || parsed.as_array().size() != 5))
    std::abort();
  if (format == wire_format::v1
      && (!parsed.is_object() || parsed.as_object().size() != 4
          || parsed.as_object().contains("join_ref")))
    std::abort();
  return parsed;
}

/// Equal JSON, numbers by value whatever their kind (1.0 goes out as 1 and reads back an integer).
bool same(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) {
    // Within a few units in the last place: the writer is exact, but Boost.JSON 1.81 reads
    // some doubles off (it has no precise mode yet), by more than one ulp for long mantissas
    // such as a 51-digit integer, whose shortest form it then reads differently.
    auto x = a.to_number<double>(), y = b.to_number<double>();
    for (int ulps = 0; ulps < 4 && x != y; ++ulps)
      x = std::nextafter(x, y);
    return x == y;
  }
  if (a.kind() != b.kind())
    return false;
  if (auto* array = a.if_array()) {
    auto& other = b.get_array();
    if (array->size() != other.size())
      return false;
    for (std::size_t i = 0; i < array->size(); ++i)
      if (!same((*array)[i], other[i]))
        return false;
    return true;
  }
  if (auto* object = a.if_object()) {
    auto& other = b.get_object();
    if (object->size() != other.size())
      return false;
    for (auto& [key, value] : *object) {
      auto* found = other.if_contains(key);
      if (!found || !same(value, *found))
        return false;
    }
    return true;
  }
  return a == b;
}

const json::value& payload_of(const json::value& frame, wire_format format) {
  return format == wire_format::v2 ? frame.as_array()[4] : frame.as_object().at("payload");
}

void answer_binary(const pulse::transport::envelope& msg) {
  auto reply = phoenix::encode_binary_reply(msg.join_ref, msg.ref, msg.topic, true, msg.bytes);
  auto broadcast = phoenix::encode_binary_broadcast(msg.topic, msg.event, msg.bytes);
  auto tail = phoenix::encode_binary_broadcast_tail(msg.topic, msg.event, msg.bytes);
  auto content = phoenix::read_tail(tail);
  if (!reply.is_binary() || !broadcast.is_binary() || !content || !content->is_binary
      || content->bytes != msg.bytes || content->event != msg.event)
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  auto mode = data[0] % 3;
  std::string_view input{reinterpret_cast<const char*>(data) + 1, size - 1};
  if (mode == 2) {
    auto decoded = phoenix::decode_binary(input);
    if (auto* msg = std::get_if<pulse::transport::envelope>(&decoded))
      answer_binary(*msg);
    else if (std::get<pulse::transport::decode_error>(decoded).reason.empty())
      std::abort();
    return 0;
  }
  auto format = mode == 0 ? wire_format::v2 : wire_format::v1;
  auto decoded = phoenix::decode(input, format);
  if (auto* error = std::get_if<pulse::transport::decode_error>(&decoded)) {
    if (error->reason.empty())
      std::abort();
    require_frame(phoenix::encode_error_reply(format, error->join_ref, error->ref,
                                              error->topic.empty() ? "phoenix" : error->topic,
                                              error->reason),
                  format);
    return 0;
  }
  auto& msg = std::get<pulse::transport::envelope>(decoded);
  require_frame(phoenix::encode_reply(format, msg.join_ref, msg.ref, msg.topic, true, msg.payload),
                format);
  auto pushed = require_frame(phoenix::encode_push(format, msg.join_ref.value_or(""), msg.topic,
                                                   msg.event, msg.payload),
                              format);
  if (!same(payload_of(pushed, format), msg.payload))
    std::abort(); // written out, read back: the same value
  // A broadcast through a tail, in both formats, and a kept V2 frame converted to V1.
  auto tail = phoenix::encode_broadcast_tail(msg.topic, msg.event, msg.payload);
  for (auto to : {wire_format::v2, wire_format::v1}) {
    auto frame = require_frame(phoenix::broadcast_from_tail(to, tail, msg.ref), to);
    if (!same(payload_of(frame, to), msg.payload))
      std::abort();
  }
  auto kept = phoenix::broadcast_from_tail(wire_format::v2, tail, msg.ref);
  require_frame(phoenix::convert(kept, wire_format::v1), wire_format::v1);
  return 0;
}
