# Node tests of `gpt2c serve` (tests/server/node/): the official OpenAI client,
# load, faults, and scale-out behind HAProxy. Included by tests/server/CMakeLists.txt.
#
# They need Node.js (Debian's `nodejs`), the npm modules installed with
#   npm ci --prefix tests/server/node --no-audit --no-fund
# and, for scale-out, Debian's `haproxy`. A missing piece makes the test fail
# with a message; nothing is skipped.

set(GPT2C_NODE_TEST_DIR "${CMAKE_CURRENT_LIST_DIR}/node")
set(GPT2C_NODE_TEST_LIB "${CMAKE_BINARY_DIR}/tests/server/node-tiny-shakespeare.so")
set(GPT2C_NODE_TEST_MODEL "${PROJECT_SOURCE_DIR}/examples/tiny-shakespeare")

find_program(GPT2C_NODE_EXECUTABLE NAMES node nodejs)
if(NOT GPT2C_NODE_EXECUTABLE)
  message(STATUS "node not found: the server_node_* tests will fail until Node.js is installed")
  set(GPT2C_NODE_EXECUTABLE node)
endif()
find_program(GPT2C_HAPROXY_EXECUTABLE NAMES haproxy PATHS /usr/sbin /usr/local/sbin)
if(NOT GPT2C_HAPROXY_EXECUTABLE)
  set(GPT2C_HAPROXY_EXECUTABLE /usr/sbin/haproxy)
endif()

# Fixture: compile the example model once for all node tests.
add_test(NAME server_node_library
  COMMAND "${CMAKE_BINARY_DIR}/bin/gpt2c" compile "${GPT2C_NODE_TEST_MODEL}" -o "${GPT2C_NODE_TEST_LIB}")
set_tests_properties(server_node_library PROPERTIES
  FIXTURES_SETUP gpt2c_server_node_library TIMEOUT 300 LABELS "server;node")

# Fixture: the npm modules are installed (`npm ci`, see above).
add_test(NAME server_node_modules
  COMMAND "${GPT2C_NODE_EXECUTABLE}" -e
    "import('openai').then(() => console.log('openai client found'), (e) => { console.error('the openai npm package is missing: run npm ci --prefix tests/server/node (' + e.message + ')'); process.exit(1); })"
  WORKING_DIRECTORY "${GPT2C_NODE_TEST_DIR}")
set_tests_properties(server_node_modules PROPERTIES
  FIXTURES_SETUP gpt2c_server_node_modules TIMEOUT 60 LABELS "server;node")

set(GPT2C_NODE_TEST_ENV
  "GPT2C_BIN=${CMAKE_BINARY_DIR}/bin/gpt2c"
  "GPT2C_LIB=${GPT2C_NODE_TEST_LIB}"
  "GPT2C_MODEL=${GPT2C_NODE_TEST_MODEL}"
  "HAPROXY=${GPT2C_HAPROXY_EXECUTABLE}")

foreach(spec IN ITEMS "openai_client:240" "load:480" "faults:360" "scaleout:480")
  string(REPLACE ":" ";" spec "${spec}")
  list(GET spec 0 name)
  list(GET spec 1 timeout)
  add_test(NAME server_node_${name}
    COMMAND "${GPT2C_NODE_EXECUTABLE}" --test "${GPT2C_NODE_TEST_DIR}/${name}.test.mjs"
    WORKING_DIRECTORY "${GPT2C_NODE_TEST_DIR}")
  set_tests_properties(server_node_${name} PROPERTIES
    ENVIRONMENT "${GPT2C_NODE_TEST_ENV}"
    FIXTURES_REQUIRED "gpt2c_server_node_library;gpt2c_server_node_modules"
    # Each of these runs servers that use both cores; running two at once only makes both slower.
    RESOURCE_LOCK gpt2c_server_node
    TIMEOUT ${timeout}
    LABELS "server;node")
endforeach()
