#include "storage/migrate.hpp"

#include <cstddef>
#include <ctime>
#include <stdexcept>
#include <string>

#include <sqlite3.h>

#include "log/log.hpp"

namespace otedama::storage {
namespace {

constexpr const char* create_schema_migrations =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " applied_at INTEGER NOT NULL)";

void check_numbering(std::span<const Migration> migrations) {
    for (std::size_t i = 0; i < migrations.size(); ++i) {
        const Migration& m = migrations[i];
        if (m.version != static_cast<int>(i + 1)) {
            throw std::logic_error("schema migration at position " + std::to_string(i) + " has version " +
                                   std::to_string(m.version) + ", expected " + std::to_string(i + 1) +
                                   ": versions must run 1, 2, 3, ... without gaps");
        }
        if (m.name == nullptr || m.name[0] == '\0' || m.sql == nullptr) {
            throw std::logic_error("schema migration " + std::to_string(m.version) + " has no name or no SQL");
        }
    }
}

struct Recorded {
    int highest = 0;
    std::int64_t count = 0;
};

Recorded recorded_versions(Database& db) {
    Statement stmt = db.prepare("SELECT COALESCE(MAX(version), 0), COUNT(*) FROM schema_migrations");
    if (!stmt.step()) throw Error(SQLITE_ERROR, "no result", stmt.sql());
    return {static_cast<int>(stmt.column_int64(0)), stmt.column_int64(1)};
}

}  // namespace

SchemaTooNewError::SchemaTooNewError(int database_version, int known_version, const std::string& path)
    : Error(SQLITE_ERROR, "database \"" + path + "\" has schema version " + std::to_string(database_version) +
                              ", newer than schema version " + std::to_string(known_version) +
                              " that this host knows; refusing to run on a database from a newer release"),
      database_version_(database_version),
      known_version_(known_version) {}

int migrate(Database& db, std::span<const Migration> migrations) {
    check_numbering(migrations);
    const int known = static_cast<int>(migrations.size());
    const auto logger = log::get("storage");

    int applied = 0;
    for (;;) {
        Transaction tx(db);
        db.exec(create_schema_migrations);
        const Recorded recorded = recorded_versions(db);
        if (recorded.count != recorded.highest) {
            throw Error(SQLITE_ERROR, "database \"" + db.path() + "\" records " + std::to_string(recorded.count) +
                                            " schema migrations up to version " +
                                            std::to_string(recorded.highest) + ": some are missing");
        }
        if (recorded.highest > known) throw SchemaTooNewError(recorded.highest, known, db.path());
        if (recorded.highest == known) {
            tx.commit();  // keeps schema_migrations on a database that had no migrations to apply
            return applied;
        }

        const Migration& m = migrations[static_cast<std::size_t>(recorded.highest)];
        db.exec(m.sql);
        Statement record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
        record.bind_int64(1, m.version).bind_text(2, m.name).bind_int64(3, static_cast<std::int64_t>(std::time(nullptr)));
        record.run();
        tx.commit();
        ++applied;
        logger->info("applied schema migration {} \"{}\" to {}", m.version, m.name, db.path());
    }
}

int schema_version(Database& db) {
    Statement exists = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'");
    if (!exists.step()) return 0;
    exists.reset();
    return recorded_versions(db).highest;
}

}  // namespace otedama::storage
