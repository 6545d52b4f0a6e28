// Outbound permessage-deflate: a frame is compressed once per window size and its compressed
// bytes are shared by every connection it goes to.
#include "tests/support/zlib_codec.hpp"
#include "transport/message_deflate.hpp"
#include "transport/outbound_frame.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <thread>
#include <vector>

using namespace pulse::transport;
using namespace pulse::test;

namespace {

/// A broadcast as Phoenix's V2 JSON serializer writes it.
std::string json_broadcast(int n) {
  std::string text = R"([null,null,"room:lobby","new_message",{"from":"ada","messages":[)";
  for (int i = 0; i < n; ++i)
    text += (i ? "," : "") + std::string{R"({"text":"hello number )"} + std::to_string(i)
            + R"(","at":1732822931123})";
  return text + "]}]";
}

} // namespace

TEST_CASE("a data frame is compressed once per window size, and shared") {
  auto frame = outbound_frame::text(json_broadcast(20));
  auto before = deflated_message_count();

  auto first = frame.deflated(15);
  CHECK(deflated_message_count() == before + 1);
  CHECK(first.is_compressed());
  CHECK_FALSE(first.is_binary());
  CHECK(first.is_data());
  CHECK(first.identity() != frame.identity());
  CHECK(first.size_bytes() < frame.size_bytes() / 3);
  CHECK(inflate_alone(first.payload()) == frame.payload());
  CHECK(first.created() == frame.created()); // the latency is measured from the broadcast

  SECTION("every later connection with the same window gets the same bytes") {
    for (int i = 0; i < 5; ++i)
      CHECK(frame.deflated(15).identity() == first.identity());
    auto copy = frame; // a subscriber's queue holds a copy of the frame: the same cache
    CHECK(copy.deflated(15).identity() == first.identity());
    CHECK(deflated_message_count() == before + 1);
  }
  SECTION("another window size is compressed once more, with that window") {
    auto narrow = frame.deflated(9);
    CHECK(narrow.identity() != first.identity());
    CHECK(frame.deflated(9).identity() == narrow.identity());
    CHECK(deflated_message_count() == before + 2);
    CHECK(inflate_alone(narrow.payload(), 9) == frame.payload());
  }
}

TEST_CASE("connections racing for a frame's compressed bytes compress it once") {
  auto frame = outbound_frame::text(json_broadcast(50));
  auto before = deflated_message_count();
  constexpr int threads = 8;
  std::vector<const void*> seen(threads);
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i)
    workers.emplace_back([&, i] { seen[i] = frame.deflated(15).identity(); });
  for (auto& worker : workers)
    worker.join();
  CHECK(std::set<const void*>(seen.begin(), seen.end()).size() == 1);
  CHECK(seen.front() != frame.identity());
  CHECK(deflated_message_count() == before + 1);
}

TEST_CASE("each compressed frame stands alone, whatever was compressed before it") {
  // server_no_context_takeover: the client resets its inflater per message.
  auto a = outbound_frame::text(json_broadcast(10)).deflated(15);
  auto b = outbound_frame::binary(json_broadcast(11)).deflated(15);
  CHECK(inflate_alone(b.payload()) == json_broadcast(11));
  CHECK(b.is_binary());
  CHECK(b.is_compressed());
  CHECK(inflate_alone(a.payload()) == json_broadcast(10));
  // The header is a server frame's: FIN, RSV1, the opcode, unmasked.
  CHECK(static_cast<std::uint8_t>(b.wire_bytes()[0]) == 0xC2);
}

TEST_CASE("small frames, control frames and incompressible payloads go out as they are") {
  auto before = deflated_message_count();
  auto small = outbound_frame::text(std::string(outbound_frame::min_deflate_bytes - 1, 'a'));
  CHECK(small.deflated(15).identity() == small.identity());
  auto close = outbound_frame::close(1000, std::string(120, 'r'));
  CHECK(close.deflated(15).identity() == close.identity());
  auto pong = outbound_frame::pong(std::string(125, 'p'));
  CHECK(pong.deflated(15).identity() == pong.identity());
  CHECK(deflated_message_count() == before);

  std::mt19937 random{42};
  std::string noise(4096, '\0');
  for (auto& c : noise)
    c = static_cast<char>(random());
  auto incompressible = outbound_frame::binary(noise);
  CHECK(incompressible.deflated(15).identity() == incompressible.identity());
  CHECK(incompressible.deflated(15).identity() == incompressible.identity());
  CHECK(deflated_message_count() == before + 1); // tried once, remembered
}

TEST_CASE("the compressed bytes of a typical JSON broadcast are a fraction of it") {
  auto frame = outbound_frame::text(json_broadcast(3));
  auto compressed = frame.deflated(15);
  INFO(frame.payload().size() << " bytes compress to " << compressed.payload().size());
  CHECK(compressed.payload().size() < frame.payload().size());
  CHECK(inflate_alone(compressed.payload()) == frame.payload());
}
