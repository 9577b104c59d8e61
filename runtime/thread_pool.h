// runtime/thread_pool.h - the runtime's workers, behind the ABI's parallel_for.
//
// Threads are created once. parallel_for splits [0, n) into one contiguous
// range per thread (the caller runs the first); workers spin briefly for the
// next job, then sleep on a condition variable, so an idle or oversubscribed
// machine is not burned by spinning.
#pragma once

#include <gpt2c/abi.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace gpt2c {

class ThreadPool {
public:
    explicit ThreadPool(int threads);  // threads <= 0: hardware concurrency
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return int(workers_.size()) + 1; }
    void parallel_for(gpt2c_task_fn fn, void* arg, int64_t n);

    // The host struct a compiled library calls back through.
    const gpt2c_host* host() const { return &host_; }

private:
    void worker_loop(int index);
    void run_share(int index);

    std::vector<std::thread> workers_;
    gpt2c_host host_;

    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> pending_{0};
    bool stop_ = false;

    // The current job.
    gpt2c_task_fn fn_ = nullptr;
    void* arg_ = nullptr;
    int64_t n_ = 0;
};

}  // namespace gpt2c
