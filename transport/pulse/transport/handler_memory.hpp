// Room for a connection's one pending read handler, inside the connection: Asio would otherwise
// hand each read a block from its per-thread cache, the largest an earlier operation left there
// (the HTTP handshake's: over 500 bytes), and keep it for as long as the connection idles.
#pragma once

#include <atomic>
#include <cstddef>
#include <new>

namespace pulse::transport {

/// Memory for one handler at a time; a second, or a larger one, comes from the heap.
class handler_memory {
 public:
  handler_memory() = default;
  handler_memory(const handler_memory&) = delete;
  handler_memory& operator=(const handler_memory&) = delete;

  void* allocate(std::size_t size) {
    if (!in_use_ && size <= sizeof storage_) {
      in_use_ = true;
      return storage_;
    }
    if (size > sizeof storage_)
      too_large.fetch_add(1, std::memory_order_relaxed);
    return ::operator new(size);
  }

  void deallocate(void* pointer) noexcept {
    if (pointer == storage_)
      in_use_ = false;
    else
      ::operator delete(pointer);
  }

  /// How many handlers were too large for any handler_memory (a test keeps this at 0; Asio's
  /// wait operation for a read takes 208 bytes with Boost 1.81).
  inline static std::atomic<std::size_t> too_large{0};

 private:
  alignas(std::max_align_t) unsigned char storage_[208]; // exactly a read's wait operation
  bool in_use_ = false;
};

/// The allocator Asio asks for a handler bound to `memory` (asio::bind_allocator).
template<class T>
class handler_allocator {
 public:
  using value_type = T;

  explicit handler_allocator(handler_memory& memory) noexcept : memory_(&memory) {}
  template<class U>
  handler_allocator(const handler_allocator<U>& other) noexcept : memory_(other.memory_) {}

  T* allocate(std::size_t n) { return static_cast<T*>(memory_->allocate(sizeof(T) * n)); }
  void deallocate(T* pointer, std::size_t) noexcept { memory_->deallocate(pointer); }

  template<class U>
  bool operator==(const handler_allocator<U>& other) const noexcept {
    return memory_ == other.memory_;
  }

 private:
  template<class>
  friend class handler_allocator;
  handler_memory* memory_;
};

} // namespace pulse::transport
