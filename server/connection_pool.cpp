// server/connection_pool.cpp - a bounded connection pool for httplib (see connection_pool.h).
#include "server/connection_pool.h"

namespace gpt2c::server {

namespace {
thread_local bool t_overflow = false;
}

bool is_overflow_connection() { return t_overflow; }

ConnectionPool::ConnectionPool(size_t workers, size_t overflow, std::atomic<int64_t>& serving)
    : workers_(workers), overflow_max_(overflow), serving_(serving) {
    for (size_t i = 0; i < workers_; ++i) threads_.emplace_back([this] { work(); });
}

ConnectionPool::~ConnectionPool() { shutdown(); }

void ConnectionPool::enqueue(std::function<void()> fn) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (idle_ > jobs_.size() || overflow_running_ >= overflow_max_) {
        jobs_.push_back(std::move(fn));
        lock.unlock();
        ready_.notify_one();
        return;
    }
    ++overflow_running_;
    std::thread([this, fn = std::move(fn)] {
        t_overflow = true;
        fn();
        std::lock_guard<std::mutex> guard(mutex_);
        --overflow_running_;
        overflow_done_.notify_all();
    }).detach();
}

void ConnectionPool::work() {
    for (;;) {
        std::function<void()> fn;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            ++idle_;
            ready_.wait(lock, [&] { return shutdown_ || !jobs_.empty(); });
            --idle_;
            if (jobs_.empty()) return;  // shut down, nothing left
            fn = std::move(jobs_.front());
            jobs_.pop_front();
        }
        serving_.fetch_add(1);
        fn();
        serving_.fetch_sub(1);
    }
}

void ConnectionPool::shutdown() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (shutdown_ && threads_.empty()) return;
        shutdown_ = true;
    }
    ready_.notify_all();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    std::unique_lock<std::mutex> lock(mutex_);
    overflow_done_.wait(lock, [&] { return overflow_running_ == 0; });
}

}  // namespace gpt2c::server
