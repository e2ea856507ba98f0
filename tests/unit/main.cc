// The Catch2 runner for every unit test; the tests live in *_test.cc.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
