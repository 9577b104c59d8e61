// runtime/thread_pool.cpp - a fork-join pool with spin-then-sleep waiting.
#include "runtime/thread_pool.h"

namespace gpt2c {

namespace {

constexpr int kSpinIterations = 20000;  // ~10-50 us before sleeping

void parallel_for_trampoline(void* context, gpt2c_task_fn fn, void* arg, int64_t n) {
    static_cast<ThreadPool*>(context)->parallel_for(fn, arg, n);
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
    if (threads <= 0) threads = int(std::thread::hardware_concurrency());
    if (threads <= 0) threads = 1;
    host_.context = this;
    host_.parallel_for = parallel_for_trampoline;
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
        generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
}

void ThreadPool::run_share(int index) {
    int64_t parts = size();
    int64_t begin = n_ * index / parts, end = n_ * (index + 1) / parts;
    if (begin < end) fn_(arg_, begin, end);
}

void ThreadPool::parallel_for(gpt2c_task_fn fn, void* arg, int64_t n) {
    if (n <= 0) return;
    if (workers_.empty() || n == 1) {
        fn(arg, 0, n);
        return;
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        fn_ = fn;
        arg_ = arg;
        n_ = n;
        pending_.store(int(workers_.size()));
        generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    run_share(0);
    for (int spin = 0; spin < kSpinIterations && pending_.load(std::memory_order_acquire) != 0; ++spin) cpu_relax();
    if (pending_.load(std::memory_order_acquire) != 0) {
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
    }
}

void ThreadPool::worker_loop(int index) {
    uint64_t seen = 0;
    while (true) {
        // Spin a little: the next op's job usually follows within microseconds.
        for (int spin = 0; spin < kSpinIterations && generation_.load(std::memory_order_acquire) == seen; ++spin)
            cpu_relax();
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
            seen = generation_.load(std::memory_order_acquire);
            if (stop_) return;
        }
        run_share(index);
        if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            std::lock_guard<std::mutex> lock(mutex_);
            done_.notify_one();
        }
    }
}

}  // namespace gpt2c
