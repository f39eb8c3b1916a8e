#pragma once

#include <cstdio>
#include <string>

// A property every fuzz input must satisfy. On failure prints what failed (and `detail`, a
// std::string expression evaluated only then) and traps, which libFuzzer records as a crash.
#define FUZZ_CHECK(cond, detail)                                                          \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      const std::string fuzz_detail_ = (detail);                                          \
      std::fprintf(stderr, "\n==FUZZ_CHECK== %s:%d: property failed: %s\n%s\n", __FILE__, \
                   __LINE__, #cond, fuzz_detail_.c_str());                                \
      __builtin_trap();                                                                   \
    }                                                                                     \
  } while (0)
