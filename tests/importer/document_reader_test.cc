// Documents come out of NDJSON and JSON-array files one at a time, with the line each
// starts on, and a reader resumed at a document's end offset returns exactly the rest.

#include "importer/document_reader.h"

#include <gtest/gtest.h>

#include <fstream>

#include "test_util.h"

namespace mv::testing {
namespace {

using importer::DocumentReader;

class DocumentReaderTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    std::string path = dir_.File("docs-" + std::to_string(++files_));
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  // Every document as "line:text", or the error.
  std::vector<std::string> All(DocumentReader& r) {
    std::vector<std::string> out;
    for (;;) {
      auto d = r.Next();
      if (!d.ok()) {
        out.push_back("error: " + d.status().message());
        return out;
      }
      if (!*d) return out;
      out.push_back(std::to_string((*d)->line) + ":" + (*d)->text);
    }
  }
  std::vector<std::string> All(const std::string& text) {
    auto r = DocumentReader::Open(Write(text));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? All(**r) : std::vector<std::string>{"open: " + r.status().message()};
  }
  TempDir dir_;
  int files_ = 0;
};

TEST_F(DocumentReaderTest, NdjsonSkipsBlankLines) {
  EXPECT_EQ(All("{\"a\":1}\n\n  \n{\"b\":2}\r\n{\"c\":3}"),
            (std::vector<std::string>{"1:{\"a\":1}", "4:{\"b\":2}\r", "5:{\"c\":3}"}));
  EXPECT_TRUE(All("").empty());
  EXPECT_TRUE(All("\n\n").empty());
}

TEST_F(DocumentReaderTest, ArrayElementsSpanLinesAndKeepBracketsInStrings) {
  EXPECT_EQ(All("[\n  {\"a\": \"x],{\\\"y\",\n   \"b\": [1, {\"c\": 2}]},\n  {\"d\": 4}\n]\n"),
            (std::vector<std::string>{"2:{\"a\": \"x],{\\\"y\",\n   \"b\": [1, {\"c\": 2}]}",
                                      "4:{\"d\": 4}"}));
  EXPECT_TRUE(All("[]").empty());
  EXPECT_TRUE(All("  [ ]  \n").empty());
}

TEST_F(DocumentReaderTest, MalformedFilesAreNamedWithTheirLine) {
  EXPECT_EQ(All("[{\"a\":1}\n{\"b\":2}]"),
            (std::vector<std::string>{"1:{\"a\":1}",
                                      "error: line 2: expected ',' or ']' between documents"}));
  EXPECT_EQ(
      All("[{\"a\":1},\n"),
      (std::vector<std::string>{"1:{\"a\":1}", "error: line 2: expected a document after ','"}));
  EXPECT_EQ(
      All("[{\"a\":1}"),
      (std::vector<std::string>{"1:{\"a\":1}", "error: line 1: the array is not closed with ']'"}));
  EXPECT_EQ(All("[{\"a\":\n1"),
            (std::vector<std::string>{
                "error: line 1: the document is not closed (the file ends inside it)"}));
  EXPECT_EQ(All("[] x"), (std::vector<std::string>{"error: line 1: text after the array"}));
  auto r = DocumentReader::Open(Write("\n\nhello"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 3: expected NDJSON documents or a JSON array"),
            std::string::npos);
  EXPECT_FALSE(DocumentReader::Open(dir_.File("missing")).ok());
  EXPECT_FALSE(DocumentReader::Open("-").ok());
}

TEST_F(DocumentReaderTest, ResumingAtAnyDocumentsEndReturnsExactlyTheRest) {
  for (const std::string& text :
       {std::string("{\"n\":0}\n{\"n\":1}\n\n{\"n\":2}\n{\"n\":3}\n"),
        std::string("[\n{\"n\":0},\n{\"n\":1}, {\"n\":2},\n\n{\"n\":3}\n]")}) {
    std::string path = Write(text);
    MV_ASSERT_OK_AND_ASSIGN(auto whole, DocumentReader::Open(path));
    std::vector<std::string> all = All(*whole);
    ASSERT_EQ(all.size(), 4u) << text;
    for (size_t k = 0; k < all.size(); ++k) {
      MV_ASSERT_OK_AND_ASSIGN(auto first, DocumentReader::Open(path));
      DocumentReader::Position at;
      for (size_t i = 0; i <= k; ++i) {
        MV_ASSERT_OK_AND_ASSIGN(auto d, first->Next());
        ASSERT_TRUE(d);
        at = first->position();
        EXPECT_EQ(at.offset, d->end_offset);
      }
      MV_ASSERT_OK_AND_ASSIGN(auto resumed, DocumentReader::Open(path));
      MV_ASSERT_OK(resumed->ResumeAt(at));
      EXPECT_EQ(All(*resumed),
                std::vector<std::string>(all.begin() + static_cast<long>(k) + 1, all.end()))
          << text << " resumed after document " << k;
    }
  }
}

}  // namespace
}  // namespace mv::testing
