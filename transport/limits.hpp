// Transport limits: every bound a client can run into, with the defaults Pulse ships, and the
// WebSocket options that change what each connection costs.
#pragma once

#include <chrono>
#include <cstddef>

namespace pulse::transport {

struct limits {
  /// Largest inbound WebSocket message; a larger one closes the connection with 1009.
  std::size_t max_message_bytes = 1 << 20;
  /// Outbound bytes a connection may have queued; past it the client is a slow consumer and is
  /// closed with 1008 ("slow consumer"), so one slow phone never grows the server's memory.
  std::size_t max_queued_bytes = 4 << 20;
  /// The kernel's send buffer per WebSocket (SO_SNDBUF); 0 leaves the system's autotuning. A
  /// small buffer makes a slow client show up in max_queued_bytes sooner.
  std::size_t socket_send_buffer_bytes = 0;
  /// No inbound data for this long (clients heartbeat every 30 s) closes with 1008.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds{60};
  /// Time for a new TCP connection to deliver a complete HTTP request (slowloris guard).
  std::chrono::milliseconds request_timeout = std::chrono::seconds{10};
  /// Time a closing connection gets to flush and exchange close frames before it is cut.
  std::chrono::milliseconds close_timeout = std::chrono::seconds{5};
  /// Open connections (WebSockets and long-poll sessions) the server takes; past it, upgrades
  /// get HTTP 503 and new long-poll sessions `{"status":500}`.
  std::size_t max_connections = 100'000;
  /// Open connections from one IP address, counted the same way. Zero: no limit, the default, as
  /// behind a proxy every client shares one address.
  std::size_t max_connections_per_ip = 0;
  /// Largest HTTP request header block, and body.
  std::size_t max_http_header_bytes = 8 << 10;
  std::size_t max_http_body_bytes = 1 << 20;
  /// permessage-deflate (RFC 7692) for clients that offer it (browsers do): off by default. On,
  /// data messages of 128 bytes and more go out compressed, each broadcast compressed once per
  /// window size and shared by its subscribers; a client that compresses with context takeover
  /// costs about 40 KiB more (zlib's inflate state) from its first compressed message on.
  bool permessage_deflate = false;

  // Long-poll sessions (/socket/longpoll). Their buffered messages also count against
  // max_queued_bytes, each POSTed message against max_message_bytes, each POST against
  // max_http_body_bytes.

  /// How long a GET waits for a message before it is answered `{"status":204}`. Must stay under
  /// the client's request timeout (the official client's longpollerTimeout, 20 s).
  std::chrono::milliseconds longpoll_window = std::chrono::seconds{10};
  /// A session that no GET asked for this long is closed (the client left; Phoenix's 1.5 windows).
  std::chrono::milliseconds longpoll_idle_timeout = std::chrono::seconds{15};
  /// Messages a session may buffer between two GETs; past it (or past max_queued_bytes) the
  /// client is a slow consumer: the session is closed and the client's next GET starts over.
  std::size_t max_longpoll_messages = 10'000;
};

} // namespace pulse::transport
