#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace mv::mongo {

// A command or a document as Extended JSON, keys in their order (a command's name is its
// first key, and embedded documents such as a compound _id compare field by field in
// order).
using Document = nlohmann::ordered_json;

// The driver's part of the view side: the views database as commands. driver.cc
// implements it with libmongoc; tests with an in-memory database that interprets the same
// commands. Every decision (which documents, filters, updates and indexes; what goes in
// one transaction) is the caller's. Documents come back as relaxed Extended JSON
// (bson_as_relaxed_extended_json): numbers plain, dates {"$date": "..."}.
// Thread-safe.
class ViewDatabase {
 public:
  virtual ~ViewDatabase() = default;

  // Runs write commands (insert, update, delete, findAndModify-free: each names its
  // collection first) in order, in ONE transaction with majority write concern: all or
  // nothing. Each command's reply is checked: a write error (a duplicate key, ...) aborts
  // the transaction and is returned (Conflict for a duplicate key, Internal otherwise);
  // `expect`, when given for command i, is the number of documents it must match
  // (n for update and delete), else the transaction is aborted with Conflict. The driver
  // retries a transaction labelled TransientTransactionError and a commit labelled
  // UnknownTransactionCommitResult, so a transaction is applied once or not at all.
  struct Write {
    Document command;
    std::optional<std::int64_t> expect_matched;
  };
  virtual Status Transact(const std::vector<Write>& writes) = 0;

  // Runs a find or aggregate command with majority read concern and calls `fn` for each
  // document of its cursor in order (following getMore), stopping at the first error.
  virtual Status Query(const Document& command, const std::function<Status(Document)>& fn) = 0;

  // Reads inside one snapshot (Snapshot's callback). Not thread-safe.
  class SnapshotReads {
   public:
    virtual ~SnapshotReads() = default;
    // The documents of a find or aggregate command, read in the snapshot.
    virtual Result<std::vector<Document>> Read(const Document& command) = 0;
  };
  // Runs `fn` in one snapshot (a read-only transaction with snapshot read concern, so that
  // documents written by one transaction are seen whole or not at all, across
  // collections). The driver runs `fn` again when the snapshot is lost to a transient error
  // (a collection dropped meanwhile, an election), so `fn` must only read.
  virtual Status Snapshot(const std::function<Status(SnapshotReads&)>& fn) = 0;

  // Runs any other command (create, collMod, createIndexes, drop, listCollections) outside
  // a transaction and returns the server's reply, also when it is an error ({ok: 0, code,
  // codeName, errmsg}); Unavailable when no server answered.
  virtual Result<Document> Command(const Document& command) = 0;
};

// The server error codes the view side tells apart.
inline constexpr int kNamespaceNotFound = 26;
inline constexpr int kNamespaceExists = 48;
inline constexpr int kDuplicateKey = 11000;

// A reply's ok (1 or 0) and code (0 when none), whatever numeric type they came as.
bool ReplyOk(const Document& reply);
int ReplyCode(const Document& reply);
// Ok for a reply with ok: 1 or one of the error codes `tolerated`; else Internal naming
// `what` and the server's codeName and errmsg.
Status CheckReply(const Document& reply, const std::string& what,
                  std::initializer_list<int> tolerated = {});

// Commands, spelled out (a braced list of pairs would be taken for an object).
// {update: collection, updates: [...], ordered: true} of UpdateStatement's.
Document UpdateCommand(const std::string& collection, std::vector<Document> statements);
// {q, u, upsert, multi}: `u` an update (operators) or a whole replacement document.
Document UpdateStatement(Document q, Document u, bool upsert, bool multi = false);
// {delete: collection, deletes: [{q, limit}, ...]}; limit 0 deletes every match.
Document DeleteCommand(const std::string& collection, const std::vector<Document>& filters,
                       int limit);
Document InsertCommand(const std::string& collection, std::vector<Document> documents);
// {find: collection, filter, sort?, limit?, projection?}; null and 0 leave a part out.
Document FindCommand(const std::string& collection, Document filter, Document sort = nullptr,
                     std::int64_t limit = 0, Document projection = nullptr);

}  // namespace mv::mongo
