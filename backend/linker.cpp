// backend/linker.cpp - runs `cc -shared` (no shell) and reports its output on failure.
#include "backend/linker.h"

#include "support/cpu_isa.h"
#include "support/error.h"
#include "support/files.h"

#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <vector>

extern char** environ;

namespace gpt2c::backend {

namespace {

// Runs argv[0] (searched in PATH) with its output in a log, which a failure reports.
void run_linker(std::vector<std::string> argv_strings, const std::string& output_path, const char* override_hint) {
    const std::string& driver = argv_strings[0];
    std::string log_path = output_path + ".link.log";
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, driver.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        ::unlink(log_path.c_str());
        fail("cannot run the linker '{}' ({}): {}", driver, override_hint, std::strerror(rc));
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    std::string log;
    try {
        log = read_file(log_path);
    } catch (const Error&) {}
    ::unlink(log_path.c_str());
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        ::unlink(output_path.c_str());
        fail("linking {} with '{}' failed:\n{}", output_path, driver, log);
    }
    struct stat st {};
    if (::stat(output_path.c_str(), &st) != 0 || st.st_size == 0) {
        ::unlink(output_path.c_str());
        fail("linking {} with '{}' reported success but wrote no library", output_path, driver);
    }
}

}  // namespace

void link_shared_library(const std::vector<std::string>& objects, const std::string& output_path, CpuArch arch) {
    if (arch == build_arch()) {
        const char* env = std::getenv("GPT2C_CC");
        std::string driver = env && *env ? env : GPT2C_DEFAULT_LINKER_DRIVER;
        // -lm: the kernels call erff. The library exports only the query symbol.
        std::vector<std::string> args = {driver, "-shared", "-o", output_path};
        args.insert(args.end(), objects.begin(), objects.end());
        for (const char* arg : {"-lm", "-Wl,-z,noexecstack", "-Wl,--as-needed", "-Wl,-O1"}) args.push_back(arg);
        run_linker(args, output_path, "set GPT2C_CC to a C compiler");
        return;
    }
    // Another architecture: lld links for every target LLVM has, and needs no C library
    // of the target. The one libm call (erff) stays undefined and binds when the runtime,
    // which always has libm loaded (libstdc++ needs it), dlopens the library.
    const char* env = std::getenv("GPT2C_LLD");
    std::string lld = env && *env ? env : GPT2C_DEFAULT_LLD;
    std::vector<std::string> args = {lld, "-shared", "-o", output_path};
    args.insert(args.end(), objects.begin(), objects.end());
    for (const char* arg : {"-z", "noexecstack", "-z", "relro", "-z", "now", "--hash-style=gnu", "--build-id", "-O1"})
        args.push_back(arg);
    run_linker(args, output_path, "set GPT2C_LLD to LLVM's ld.lld");
}

}  // namespace gpt2c::backend
