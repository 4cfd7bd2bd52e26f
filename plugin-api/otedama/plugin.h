/*
 * Otedama plugin ABI: the entry symbol, version negotiation, the factory and plugin instances.
 * SPDX-License-Identifier: MIT
 *
 * A plugin shared object exports exactly ONE symbol: `otedama_plugin_entry` (OTD_ENTRY_SYMBOL), a const
 * otd_plugin_entry_t. Everything else is reached through it.
 *
 * The host loads in this fixed order and rejects the plugin with one clear reason at the first failing step:
 *   open -> entry symbol -> ABI major -> negotiate minor -> entry init -> factory -> descriptor fields ->
 *   duplicate id -> create -> kind table size and mandatory pointers -> known-answer self-test.
 * A rejected plugin is listed with its reason; the host keeps running. The host never unloads a library.
 */
#ifndef OTEDAMA_PLUGIN_H
#define OTEDAMA_PLUGIN_H

#include "abi.h"

OTD_EXTERN_C_BEGIN

struct otd_host; /* host.h */

#define OTD_ENTRY_SYMBOL "otedama_plugin_entry"
#define OTD_PLUGIN_FACTORY_ID "otedama.plugin-factory/1"

/*
 * The entry. Filled statically by the plugin; read by the host before anything else.
 *
 * Version negotiation (as the Vulkan loader does with ICDs): the host requires abi_major == its own major.
 * It then calls negotiate() offering its highest minor; the plugin answers the minor it will speak
 * (<= the offer), or fails if the host is too old for it. The host enforces its own minimum minor.
 * All later struct sizes the plugin hands over must not exceed what the host knows (struct_size <= the
 * host's sizeof); the SDK takes care of that.
 */
typedef struct otd_plugin_entry {
  uint32_t struct_size;
  uint32_t abi_major;        /* OTD_ABI_MAJOR the plugin was built against */
  uint32_t abi_minor;        /* OTD_ABI_MINOR the plugin was built against (the highest it speaks) */
  uint32_t reserved;         /* 0 */

  /* [control] host_minor: the host's highest minor. *chosen: the minor the plugin will speak.
   * Return OTD_ERR_VERSION (with a message) if the plugin cannot work with that host. */
  otd_status_t(OTD_CALL* negotiate)(uint32_t host_minor, uint32_t* chosen, char* err, size_t err_cap);

  /* [control] Library-wide initialisation, once, after negotiation. `host` is valid until the process ends
   * (the host never unloads). Return non-OK with a message to be rejected. */
  otd_status_t(OTD_CALL* init)(const struct otd_host* host, char* err, size_t err_cap);

  /* [control] Called once at host shutdown, after every instance was destroyed. May be NULL. */
  void(OTD_CALL* deinit)(void);

  /* [control] Return the factory table for `factory_id` (OTD_PLUGIN_FACTORY_ID) or NULL.
   * The returned pointer is valid until deinit. */
  const void*(OTD_CALL* get_factory)(const char* factory_id);
} otd_plugin_entry_t;

/*
 * What a plugin is. All strings are static in the plugin (valid until deinit).
 * id: reverse-DNS, globally unique, [a-z0-9._-], e.g. "org.otedama.algorithm.sha256d".
 * Mandatory: id, name, version, vendor, interface_id. url, description may be "" or NULL.
 */
typedef struct otd_plugin_descriptor {
  uint32_t struct_size;
  otd_kind_t kind;           /* OTD_KIND_* */
  const char* id;
  const char* name;          /* short human name, e.g. "sha256d" */
  const char* version;       /* the plugin's own version, semver */
  const char* vendor;
  const char* url;
  const char* description;
  const char* interface_id;  /* the kind table it implements: "otedama.algorithm/1" ... */
} otd_plugin_descriptor_t;

typedef struct otd_plugin otd_plugin_t;

/* The factory: one shared object may carry several plugins. */
typedef struct otd_plugin_factory {
  uint32_t struct_size;
  /* [control] */
  uint32_t(OTD_CALL* get_plugin_count)(const struct otd_plugin_factory* factory);
  /* [control] Returns NULL for an index out of range. Valid until deinit. */
  const otd_plugin_descriptor_t*(OTD_CALL* get_plugin_descriptor)(const struct otd_plugin_factory* factory,
                                                                   uint32_t index);
  /* [control] Create an instance of plugin `plugin_id`. `host` is the instance's own host table (it knows
   * which plugin is calling), valid until the instance is destroyed. On success *out is valid until
   * out->destroy(out). */
  otd_status_t(OTD_CALL* create_plugin)(const struct otd_plugin_factory* factory, const struct otd_host* host,
                                        const char* plugin_id, const otd_plugin_t** out, char* err,
                                        size_t err_cap);
} otd_plugin_factory_t;

/* A plugin instance. Created by the factory, owned by the plugin, destroyed by the host calling destroy(). */
struct otd_plugin {
  uint32_t struct_size;
  uint32_t reserved;
  const otd_plugin_descriptor_t* desc;
  void* plugin_data;         /* the plugin's own state; the host never touches it */

  /* [control] Called once after create, with the plugin's configuration available through the host.
   * Return non-OK with a message to be rejected. */
  otd_status_t(OTD_CALL* init)(const otd_plugin_t* plugin, char* err, size_t err_cap);

  /* [control] Free everything; join every thread the plugin started. The host calls it exactly once. */
  void(OTD_CALL* destroy)(const otd_plugin_t* plugin);

  /* [any] Return the kind table for `interface_id` ("otedama.algorithm/1" ...) or an extension, or NULL.
   * Valid until destroy. */
  const void*(OTD_CALL* get_interface)(const otd_plugin_t* plugin, const char* interface_id);

  /* [control] Known-answer self-test. Mandatory for algorithm plugins, optional (NULL) otherwise.
   * Returns OTD_OK or OTD_ERR_SELF_TEST with the first mismatch described in err. */
  otd_status_t(OTD_CALL* self_test)(const otd_plugin_t* plugin, char* err, size_t err_cap);
};

/* The one exported symbol. A plugin defines it with OTD_EXPORT; see sdk/plugin.hpp for C++. */
typedef const otd_plugin_entry_t* otd_entry_ptr_t;

OTD_EXTERN_C_END

#endif /* OTEDAMA_PLUGIN_H */
