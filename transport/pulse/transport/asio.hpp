// Namespace aliases for the transport's .cpp files. Only .cpp files include this header, so Asio
// and Beast stay out of every header that the actors layer sees (they dominate compile time).
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>

namespace pulse::transport {

namespace asio = boost::asio;                 // sockets, strands, timers, the io_context
namespace beast = boost::beast;               // HTTP parsing and the WebSocket opening handshake
namespace http = beast::http;                 // requests and responses
using tcp = asio::ip::tcp;                    // the only protocol we listen on
using error_code = boost::system::error_code; // every completion handler's first argument
using tls_stream = beast::ssl_stream<beast::tcp_stream>; // a connection over TLS (wss://)

} // namespace pulse::transport
