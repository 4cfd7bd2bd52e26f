// Numbered schema migrations, recorded in schema_migrations.
#pragma once

#include <span>

#include "storage/database.hpp"

namespace otedama::storage {

/// One schema step. Versions start at 1 and have no gaps; a released migration never changes.
/// `sql` may hold several statements, but no BEGIN/COMMIT: each migration already runs in its own
/// transaction, and must not change PRAGMA foreign_keys (ignored inside a transaction).
struct Migration {
    int version;
    const char* name;
    const char* sql;
};

/// The database holds a schema from a newer release than this host knows.
class SchemaTooNewError : public Error {
public:
    SchemaTooNewError(int database_version, int known_version, const std::string& path);
    [[nodiscard]] int database_version() const noexcept { return database_version_; }
    [[nodiscard]] int known_version() const noexcept { return known_version_; }

private:
    int database_version_;
    int known_version_;
};

/// Brings the database up to the last of `migrations`. Each pending migration runs in its own
/// BEGIN IMMEDIATE transaction together with its row in
/// schema_migrations(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL),
/// applied_at in Unix seconds. The current version is read under the write lock, so two processes
/// opening the same file at once apply each migration once. Running it again is a no-op.
/// @pre no transaction is open on `db`.
/// @return how many migrations were applied.
/// @throws std::logic_error when `migrations` is not numbered 1, 2, 3, ... (a bug in the caller).
/// @throws SchemaTooNewError when the database is at a higher version than the last migration.
/// @throws Error when a migration fails (it is rolled back; those before it stay applied).
int migrate(Database& db, std::span<const Migration> migrations);

/// The highest version recorded in schema_migrations; 0 for a database that has none.
[[nodiscard]] int schema_version(Database& db);

}  // namespace otedama::storage
