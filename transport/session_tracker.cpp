#include <pulse/transport/session_tracker.hpp>
#include <pulse/transport/websocket_session.hpp>

#include <vector>

namespace pulse::transport {

session_tracker::admission session_tracker::admit(const std::string& address, std::size_t max_total,
                                                  std::size_t max_per_address) {
  std::lock_guard guard{mutex_};
  if (admitted_ >= max_total)
    return admission::server_full;
  // Counted only under a limit: otherwise every client address would cost an entry.
  if (max_per_address > 0) {
    auto& from_address = per_address_[address];
    if (from_address >= max_per_address)
      return admission::address_full;
    ++from_address;
  }
  ++admitted_;
  return admission::admitted;
}

std::size_t session_tracker::tracked_addresses() const {
  std::lock_guard guard{mutex_};
  return per_address_.size();
}

void session_tracker::release(const std::string& address) {
  std::lock_guard guard{mutex_};
  --admitted_;
  if (auto it = per_address_.find(address); it != per_address_.end() && --it->second == 0)
    per_address_.erase(it);
}

void session_tracker::add(const std::shared_ptr<websocket_session_base>& session) {
  std::lock_guard guard{mutex_};
  sessions_.emplace(session.get(), session);
}

void session_tracker::remove(const websocket_session_base* session, const std::string& address) {
  release(address);
  std::lock_guard guard{mutex_};
  sessions_.erase(session);
  if (sessions_.empty())
    emptied_.notify_all();
}

bool session_tracker::wait_until_empty(std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock{mutex_};
  return emptied_.wait_until(lock, deadline, [this] { return sessions_.empty(); });
}

std::size_t session_tracker::size() const {
  std::lock_guard guard{mutex_};
  return sessions_.size();
}

void session_tracker::for_each(const std::function<void(websocket_session_base&)>& fn) const {
  std::vector<std::shared_ptr<websocket_session_base>> live;
  {
    std::lock_guard guard{mutex_};
    live.reserve(sessions_.size());
    for (auto& [_, weak] : sessions_)
      if (auto session = weak.lock())
        live.push_back(std::move(session));
  }
  for (auto& session : live)
    fn(*session);
}

} // namespace pulse::transport

namespace pulse::transport {

std::size_t session_tracker::queued_bytes() const {
  std::size_t total = 0;
  for_each([&](websocket_session_base& session) { total += session.queued_bytes(); });
  return total;
}

} // namespace pulse::transport
