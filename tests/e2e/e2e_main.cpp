// tests/e2e/e2e_main.cpp - the Catch2 main of the end-to-end tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
