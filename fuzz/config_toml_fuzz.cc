// LoadConfigText on arbitrary text (no environment). Checks: the only error is
// InvalidArgument; a loaded configuration written as TOML (ConfigToToml) loads again, to a
// configuration that ConfigToToml writes identically (config.h: "a TOML document that
// LoadConfig reads back unchanged").
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "app/config.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::map<std::string, std::string> no_env;
  const auto config = mv::app::LoadConfigText(text, no_env);
  if (!config.ok()) {
    FUZZ_CHECK(config.status().code() == mv::StatusCode::kInvalidArgument,
               config.status().ToString());
    return 0;
  }
  const std::string written = mv::app::ConfigToToml(*config);
  const auto again = mv::app::LoadConfigText(written, no_env);
  FUZZ_CHECK(again.ok(),
             "ConfigToToml:\n" + written + "\ndoes not load: " + again.status().ToString());
  const std::string rewritten = mv::app::ConfigToToml(*again);
  FUZZ_CHECK(rewritten == written, "ConfigToToml, loaded and written again, differs:\n" + written +
                                       "\n----\n" + rewritten);
  return 0;
}
