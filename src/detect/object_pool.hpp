// A small, thread-safe pool of non-thread-safe OpenCV objects.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace kycprep::detail {

// Lends each caller its own T; objects are created on demand (so the pool
// grows to the number of threads that ever call at once) and reused after.
template <class T>
class object_pool {
 public:
  using factory = std::function<std::unique_ptr<T>()>;

  class lease {
   public:
    lease(const object_pool* pool, std::unique_ptr<T> obj) : pool_(pool), obj_(std::move(obj)) {}
    lease(lease&& o) noexcept = default;
    lease& operator=(lease&&) = delete;
    lease(const lease&) = delete;
    ~lease() {
      if (obj_) pool_->give_back(std::move(obj_));
    }
    explicit operator bool() const noexcept { return obj_ != nullptr; }
    T& operator*() const { return *obj_; }
    T* operator->() const { return obj_.get(); }

   private:
    const object_pool* pool_;
    std::unique_ptr<T> obj_;
  };

  explicit object_pool(factory make) : make_(std::move(make)) {}

  // Adds an already built object (e.g. the one built to validate the files).
  void put(std::unique_ptr<T> obj) { give_back(std::move(obj)); }

  // An object for the caller's exclusive use; empty when creation failed.
  lease acquire() const {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        auto obj = std::move(idle_.back());
        idle_.pop_back();
        return lease(this, std::move(obj));
      }
    }
    return lease(this, make_());
  }

 private:
  void give_back(std::unique_ptr<T> obj) const {
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(obj));
  }

  factory make_;
  mutable std::mutex mu_;
  mutable std::vector<std::unique_ptr<T>> idle_;
};

}  // namespace kycprep::detail
