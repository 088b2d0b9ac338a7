#include <cmath>
#include <thread>

#include "kycprep/upload.hpp"

namespace kycprep {

rate_limiter::rate_limiter(double qps, steady_now_fn now, sleep_fn sleep)
    : qps_(qps > 0 && std::isfinite(qps) ? qps : 1.0),
      // Paced 1% under the configured rate, so that the jitter of waking up
      // never lets a one-second window hold more than qps starts.
      interval_(std::chrono::nanoseconds(static_cast<std::int64_t>(std::ceil(1.01e9 / qps_)))),
      now_(now ? std::move(now) : steady_now_fn([] { return std::chrono::steady_clock::now(); })),
      sleep_(sleep ? std::move(sleep)
                   : sleep_fn([](std::chrono::nanoseconds d) { std::this_thread::sleep_for(d); })) {}

std::chrono::nanoseconds rate_limiter::reserve() {
  // A token bucket of capacity 1 is a schedule of slots `interval_` apart;
  // each caller takes the next free slot under the lock and waits outside it.
  std::lock_guard lock(mutex_);
  const auto now = now_();
  const auto slot = next_ > now ? next_ : now;
  next_ = slot + interval_;
  return slot - now;
}

std::chrono::steady_clock::time_point rate_limiter::acquire() {
  // One waiter at a time, and the next slot counts from the actual grant:
  // slots booked in advance would let a thread that wakes up late start right
  // next to the one after it.
  std::lock_guard gate(gate_);
  std::unique_lock lock(mutex_);
  auto now = now_();
  if (next_ > now) {
    const auto wait = next_ - now;
    lock.unlock();
    sleep_(wait);
    lock.lock();
    now = now_();
  }
  const auto granted = now > next_ ? now : next_;
  next_ = granted + interval_;
  return granted;
}

}  // namespace kycprep
