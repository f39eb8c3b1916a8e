#pragma once

#include <string_view>
#include <vector>

namespace mv::http {

// The live board's files (src/http/board/), compiled into the binary: it serves them at
// `path` without reading anything at run time.
struct BoardAsset {
  std::string_view path;  // "/", "/board.js", "/board.css", "/favicon.svg"
  std::string_view content_type;
  std::string_view body;
};
const std::vector<BoardAsset>& BoardAssets();

}  // namespace mv::http
