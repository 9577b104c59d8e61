# cmake/toolchain-aarch64-linux-gnu.cmake - cross-compile for 64-bit ARM Linux on Debian (multiarch).
#
#   cmake -S . -B build-aarch64 -G Ninja -DGPT2C_RUNTIME_ONLY=ON \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake
# (scripts/build-aarch64.sh installs the packages and does all of it.)
#
# Needs Debian's cross compiler (g++-aarch64-linux-gnu) and the arm64 builds of the
# libraries (libfmt-dev:arm64, libpcre2-dev:arm64 after `dpkg --add-architecture arm64`).
# Multiarch puts them beside the host's: arm64 libraries, CMake packages and .pc files in
# /usr/lib/aarch64-linux-gnu, architecture-independent ones (nlohmann_json) in /usr/share.
# Only the runtime and gpt2c-run cross-compile: the compiler needs LLVM for the build machine.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_ASM_COMPILER aarch64-linux-gnu-gcc)
# find_package/find_library look in <prefix>/lib/aarch64-linux-gnu (and never in the
# host's lib/x86_64-linux-gnu); the compiler itself searches the same multiarch directories.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# pkg-config (PCRE2) must read the arm64 .pc files only, not the host's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Target programs run on the build machine under user-mode QEMU when it is installed. Its
# loader and libraries are the multiarch arm64 ones (/lib/ld-linux-aarch64.so.1, libc6:arm64
# and the rest from /usr/lib/aarch64-linux-gnu), so no QEMU_LD_PREFIX is needed.
find_program(GPT2C_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(GPT2C_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${GPT2C_QEMU_AARCH64})
endif()
