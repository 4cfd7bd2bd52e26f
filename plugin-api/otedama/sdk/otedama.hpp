// Otedama plugin SDK umbrella header. SPDX-License-Identifier: MIT
#ifndef OTEDAMA_SDK_OTEDAMA_HPP
#define OTEDAMA_SDK_OTEDAMA_HPP

#include <otedama/sdk/algorithm.hpp>
#include <otedama/sdk/backend.hpp>
#include <otedama/sdk/payout.hpp>
#include <otedama/sdk/plugin.hpp>
#include <otedama/sdk/transport.hpp>

#endif  // OTEDAMA_SDK_OTEDAMA_HPP
