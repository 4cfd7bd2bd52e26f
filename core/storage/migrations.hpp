// The host's own schema, as numbered migrations (see migrate.hpp).
#pragma once

#include <span>

#include "storage/migrate.hpp"

namespace otedama::storage {

/// Every schema migration this host knows, in order. Append only: a released entry never changes.
[[nodiscard]] std::span<const Migration> host_migrations() noexcept;

}  // namespace otedama::storage
