// Finds the Redis master that Sentinel names, and follows it: one connection asks the sentinels
// (each in turn, until one answers) for the master's address, another listens on a sentinel for
// +switch-master, so that a failover is known within milliseconds of the sentinels' decision.
#pragma once

#include <pulse/transport/redis_client.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pulse::transport {

/// Every member runs on the io_context's thread.
class redis_sentinel : public std::enable_shared_from_this<redis_sentinel> {
 public:
  redis_sentinel(boost::asio::io_context& io, std::vector<redis_address> sentinels,
                 std::string master_name);
  ~redis_sentinel();

  redis_sentinel(const redis_sentinel&) = delete;
  redis_sentinel& operator=(const redis_sentinel&) = delete;

  /// Called when the master is first known, and whenever it changes.
  void on_master(std::function<void(const redis_address&)> fn) { on_master_ = std::move(fn); }

  void start();
  void stop();
  /// Asks the sentinels again: the master's connection dropped, or it answered as a replica.
  void ask();

  const std::optional<redis_address>& master() const noexcept { return master_; }

  /// While no sentinel named the master, they are asked again this often.
  static constexpr std::chrono::milliseconds retry_interval{500};

 private:
  void learned(redis_address address, std::string_view how);
  void retry_later();

  std::string name_;
  std::shared_ptr<redis_client> asker_;    ///< SENTINEL get-master-addr-by-name
  std::shared_ptr<redis_client> listener_; ///< SUBSCRIBE +switch-master
  boost::asio::steady_timer retry_;
  bool retrying_ = false;
  bool asking_ = false;
  std::optional<redis_address> master_;
  std::function<void(const redis_address&)> on_master_;
};

} // namespace pulse::transport
