// tests/unit/thread_pool_test.cpp - ThreadPool: every task runs exactly once, from any caller, whatever the timing.
#include "runtime/thread_pool.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace {

// Counts how often each task index ran; the ranges handed out must tile [0, n).
struct Coverage {
    std::vector<std::atomic<int>> hits;
    std::atomic<int> bad_ranges{0};
    explicit Coverage(int64_t n) : hits(size_t(n)) {}
    static void run(void* self, int64_t begin, int64_t end) {
        auto* c = static_cast<Coverage*>(self);
        if (begin < 0 || begin >= end || end > int64_t(c->hits.size())) c->bad_ranges++;
        for (int64_t i = begin; i < end && i < int64_t(c->hits.size()); ++i) c->hits[size_t(i)]++;
    }
    bool each_once() const {
        for (const auto& h : hits)
            if (h.load() != 1) return false;
        return bad_ranges.load() == 0;
    }
};

}  // namespace

TEST_CASE("parallel_for runs every task exactly once", "[thread_pool]") {
    for (int threads : {1, 2, 3, 8}) {
        gpt2c::ThreadPool pool(threads);
        CHECK(pool.size() == threads);
        for (int64_t n : {1, 2, 3, 7, 16, 17, 100, 1571, 70000}) {
            INFO(threads << " threads, n = " << n);
            Coverage c(n);
            pool.parallel_for(&Coverage::run, &c, n);
            CHECK(c.each_once());
        }
        Coverage none(0);
        pool.parallel_for(&Coverage::run, &none, 0);  // nothing to do is not an error
        CHECK(none.bad_ranges.load() == 0);
    }
}

TEST_CASE("back-to-back jobs never mix, even when workers fall asleep between them", "[thread_pool]") {
    gpt2c::ThreadPool pool(4);
    for (int job = 0; job < 2000; ++job) {
        const int64_t n = 1 + job % 37;
        Coverage c(n);
        pool.parallel_for(&Coverage::run, &c, n);
        REQUIRE(c.each_once());
        // Now and then idle long enough for the workers to stop spinning and sleep.
        if (job % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

TEST_CASE("a task that is slow on one thread is waited for", "[thread_pool]") {
    gpt2c::ThreadPool pool(2);
    struct Slow {
        std::atomic<int> finished{0};
        static void run(void* self, int64_t begin, int64_t end) {
            if (begin == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
            static_cast<Slow*>(self)->finished += int(end - begin);
        }
    } slow;
    pool.parallel_for(&Slow::run, &slow, 64);
    CHECK(slow.finished.load() == 64);  // parallel_for returned only after the sleeping chunk
}

TEST_CASE("callers on several threads take turns", "[thread_pool]") {
    gpt2c::ThreadPool pool(2);
    std::atomic<int> failures{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < 3; ++t)
        callers.emplace_back([&] {
            for (int job = 0; job < 300; ++job) {
                Coverage c(50);
                pool.parallel_for(&Coverage::run, &c, 50);
                if (!c.each_once()) failures++;
            }
        });
    for (std::thread& t : callers) t.join();
    CHECK(failures.load() == 0);
}
