#pragma once

#include <nlohmann/json.hpp>

#include "api/key_store.h"
#include "api/operator_stores.h"
#include "api/source.h"
#include "worker/operations.h"
#include "worker/scheduler.h"

namespace mv::http {

// An operation as the admin API and `viya-mv` answer it, and back (the operation board
// carries it between processes); InvalidArgument for JSON that is not one.
nlohmann::json OperationToJson(const worker::Operation& op);
Result<worker::Operation> OperationFromJson(const nlohmann::json& j);

// A stored version of a view (blue/green), without its row count.
nlohmann::json StoredVersionToJson(const core::StoredVersion& v);

// The reconciliation contract for scripts:
// {"token", "views": [{"view", "org", "sourceRows", "viewRows", "mismatched", "repaired"}]}
nlohmann::json ReconcileReport(const worker::Operation& op);

// A scheduled job's state, as GET /admin/jobs and `viya-mv status` answer it.
nlohmann::json JobToJson(const worker::JobState& job);
nlohmann::json DeadLetterToJson(const api::StoredDeadLetter& d);
nlohmann::json ApiKeyToJson(const api::ApiKeyInfo& k);

// The answers of GET /admin/dead-letters, POST /admin/dead-letters/{id}/retry and GET
// /admin/keys, which `viya-mv` also gives on a data folder.
Result<nlohmann::json> DeadLetterList(api::DeadLetters& store, std::int64_t limit);
Result<nlohmann::json> RetryDeadLetter(api::DeadLetters& store, api::SourceWriter& source,
                                       std::int64_t id);
Result<nlohmann::json> ApiKeyList(api::KeyStore& keys);

}  // namespace mv::http
