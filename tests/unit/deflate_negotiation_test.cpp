#include "transport/deflate_negotiation.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

using namespace pulse::transport;

TEST_CASE("permessage-deflate offers get Pulse's answer, or none when they are invalid") {
  const std::string base = "permessage-deflate; server_no_context_takeover";
  struct row {
    std::string offer;
    std::optional<std::string> response; // nothing: no extension in the response
  };
  std::vector<row> table{
    // What browsers and ws send, and the Autobahn offers of 12.x and 13.x.
    {"permessage-deflate", base},
    {"permessage-deflate; client_max_window_bits", base},
    {"permessage-deflate; client_no_context_takeover; client_max_window_bits",
     base + "; client_no_context_takeover"},
    {"permessage-deflate; server_no_context_takeover", base},
    {"permessage-deflate; server_max_window_bits=9", base + "; server_max_window_bits=9"},
    {"permessage-deflate; client_no_context_takeover; server_no_context_takeover; "
     "server_max_window_bits=15",
     base + "; client_no_context_takeover; server_max_window_bits=15"},
    // 13.7: several offers in preference order; the first acceptable one wins.
    {"permessage-deflate; server_no_context_takeover; server_max_window_bits=9, "
     "permessage-deflate; server_no_context_takeover, permessage-deflate",
     base + "; server_max_window_bits=9"},
    // Values: quoted, spaces around '=', case of names.
    {"permessage-deflate; server_max_window_bits=\"10\"", base + "; server_max_window_bits=10"},
    {"permessage-deflate ; server_max_window_bits = 12", base + "; server_max_window_bits=12"},
    {"PerMessage-Deflate; Client_No_Context_Takeover", base + "; client_no_context_takeover"},
    {"permessage-deflate; client_max_window_bits=8", base},
    {"permessage-deflate; client_max_window_bits=\"15\"", base},
    // Lists: empty elements, other extensions before, a quoted comma in another offer.
    {", ,permessage-deflate,", base},
    {"x-webkit-deflate-frame, permessage-deflate; client_max_window_bits", base},
    {"foo; bar=\"a, permessage-deflate\", permessage-deflate; server_max_window_bits=11",
     base + "; server_max_window_bits=11"},
    // Declined: zlib cannot make an 8-bit window; the next offer may still do.
    {"permessage-deflate; server_max_window_bits=8", std::nullopt},
    {"permessage-deflate; server_max_window_bits=8, permessage-deflate", base},
    // Declined: bad values.
    {"permessage-deflate; server_max_window_bits", std::nullopt},
    {"permessage-deflate; server_max_window_bits=16", std::nullopt},
    {"permessage-deflate; server_max_window_bits=7", std::nullopt},
    {"permessage-deflate; server_max_window_bits=010", std::nullopt},
    {"permessage-deflate; server_max_window_bits=1a", std::nullopt},
    {"permessage-deflate; server_max_window_bits=\"\"", std::nullopt},
    {"permessage-deflate; client_max_window_bits=16", std::nullopt},
    {"permessage-deflate; client_max_window_bits=0", std::nullopt},
    {"permessage-deflate; server_no_context_takeover=1", std::nullopt},
    {"permessage-deflate; client_no_context_takeover=true", std::nullopt},
    // Declined: duplicated or unknown parameters.
    {"permessage-deflate; client_no_context_takeover; client_no_context_takeover", std::nullopt},
    {"permessage-deflate; server_max_window_bits=10; server_max_window_bits=10", std::nullopt},
    {"permessage-deflate; client_max_window_bits; client_max_window_bits=10", std::nullopt},
    {"permessage-deflate; mystery", std::nullopt},
    {"permessage-deflate; mystery=1, permessage-deflate; client_no_context_takeover",
     base + "; client_no_context_takeover"},
    // Declined: malformed.
    {"permessage-deflate;", std::nullopt},
    {"permessage-deflate; =9", std::nullopt},
    {"permessage-deflate; server_max_window_bits=\"9", std::nullopt},
    {"permessage-deflate x", std::nullopt},
    {"permessage-deflate x, permessage-deflate", base},
    // Nothing to accept.
    {"", std::nullopt},
    {"x-webkit-deflate-frame", std::nullopt},
    {"permessage-deflated", std::nullopt},
  };
  for (auto& r : table) {
    INFO("offer: " << r.offer);
    auto agreement = negotiate_deflate(r.offer);
    REQUIRE(agreement.has_value() == r.response.has_value());
    if (agreement)
      CHECK(agreement->response_header() == *r.response);
  }
}

TEST_CASE("an agreement carries the window bits and the client's context choice") {
  auto plain = negotiate_deflate("permessage-deflate");
  REQUIRE(plain);
  CHECK(plain->server_window_bits == 15);
  CHECK_FALSE(plain->client_no_context_takeover);
  auto narrow = negotiate_deflate("permessage-deflate; server_max_window_bits=9; "
                                  "client_no_context_takeover");
  REQUIRE(narrow);
  CHECK(narrow->server_window_bits == 9);
  CHECK(narrow->client_no_context_takeover);
}
