#include "backend/backend.h"

#include <filesystem>

#include "storage/sqlite/api_key_store.h"
#include "storage/sqlite/catalog_reader.h"
#include "storage/sqlite/dead_letter_store.h"
#include "storage/sqlite/source_store.h"
#include "storage/sqlite/view_queries.h"
#include "storage/sqlite/view_store.h"

namespace mv::backend {
namespace {

// source.db and views.db in one data folder.
class EmbeddedBackend final : public Backend {
 public:
  static Result<std::unique_ptr<Backend>> Open(const BackendOptions& options,
                                               const core::ViewSet* views, const Clock* clock) {
    std::unique_ptr<EmbeddedBackend> b(new EmbeddedBackend);
    const std::filesystem::path dir(options.data_dir);
    const std::string source_path = (dir / "source.db").string();
    const std::string views_path = (dir / "views.db").string();
    storage::sqlite::SourceStore::Options source_options;
    source_options.oplog_retention = options.oplog_retention;
    MV_ASSIGN_OR_RETURN(b->source_,
                        storage::sqlite::SourceStore::Open(source_path, clock, source_options));
    MV_ASSIGN_OR_RETURN(b->changes_, b->source_->NewChangeSource());
    storage::sqlite::SqliteViewStore::Options view_options;
    view_options.cache_mib = options.views_cache_mib;
    MV_ASSIGN_OR_RETURN(b->views_, storage::sqlite::SqliteViewStore::Open(views_path, views,
                                                                          clock, view_options));
    b->reader_ = std::make_unique<storage::sqlite::ViewQueryPool>(views_path);
    MV_ASSIGN_OR_RETURN(b->keys_, storage::sqlite::ApiKeyStore::Open(views_path, clock));
    MV_ASSIGN_OR_RETURN(b->dead_letters_, storage::sqlite::DeadLetterStore::Open(views_path));
    MV_ASSIGN_OR_RETURN(b->catalog_, storage::sqlite::CatalogReader::Open(views_path));
    return std::unique_ptr<Backend>(std::move(b));
  }

  core::ChangeSource& changes() override { return *changes_; }
  core::SourceReader& snapshots() override { return *source_; }
  core::LookupReader& lookups() override { return *source_; }
  api::SourceProgress& progress() override { return *source_; }
  api::SourceWriter* writer() override { return source_.get(); }
  api::SourceMaintenance* maintenance() override { return source_.get(); }
  core::ViewStore& view_store() override { return *views_; }
  const Watermark& applied() const override { return views_->applied(); }
  api::ViewReader& reader() override { return *reader_; }
  api::KeyStore& keys() override { return *keys_; }
  api::DeadLetters& dead_letters() override { return *dead_letters_; }
  api::Catalog& catalog() override { return *catalog_; }
  std::optional<Embedded> embedded() override { return Embedded{source_.get(), views_.get()}; }

 private:
  EmbeddedBackend() = default;
  std::unique_ptr<storage::sqlite::SourceStore> source_;
  std::unique_ptr<core::ChangeSource> changes_;
  std::unique_ptr<storage::sqlite::SqliteViewStore> views_;
  std::unique_ptr<storage::sqlite::ViewQueryPool> reader_;
  std::unique_ptr<storage::sqlite::ApiKeyStore> keys_;
  std::unique_ptr<storage::sqlite::DeadLetterStore> dead_letters_;
  std::unique_ptr<storage::sqlite::CatalogReader> catalog_;
};

}  // namespace

Result<std::unique_ptr<Backend>> OpenBackend(const BackendOptions& options,
                                             const core::ViewSet* views, const Clock* clock) {
  return EmbeddedBackend::Open(options, views, clock);
}

Result<std::unique_ptr<api::KeyStore>> OpenKeyStore(const BackendOptions& options,
                                                    const Clock* clock) {
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  MV_ASSIGN_OR_RETURN(
      auto keys, storage::sqlite::ApiKeyStore::Open(
                     (std::filesystem::path(options.data_dir) / "views.db").string(), clock));
  return std::unique_ptr<api::KeyStore>(std::move(keys));
}

}  // namespace mv::backend
