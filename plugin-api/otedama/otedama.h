/*
 * Otedama plugin ABI, umbrella header: include this one. SPDX-License-Identifier: MIT
 * Documentation: docs/abi.md. C++ helpers: <otedama/sdk/plugin.hpp>.
 */
#ifndef OTEDAMA_OTEDAMA_H
#define OTEDAMA_OTEDAMA_H

#include "abi.h"
#include "events.h"
#include "work.h"
#include "plugin.h"
#include "host.h"
#include "algorithm.h"
#include "backend.h"
#include "payout.h"
#include "transport.h"
#include "progpow.h"

#endif /* OTEDAMA_OTEDAMA_H */
